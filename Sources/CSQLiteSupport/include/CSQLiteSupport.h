#ifndef SWITCHBOARD_CSQLITE_SUPPORT_H
#define SWITCHBOARD_CSQLITE_SUPPORT_H

/// Turns on SQLite's query planner stability guarantee (SQLITE_DBCONFIG_ENABLE_QPSG) for
/// the connection `db` (a `sqlite3 *`). Without it SQLite compiles a statement's plan from
/// some of its bound values (a LIMIT, a value compared with a partial index's condition,
/// a LIKE pattern) and recompiles the statement whenever those values change, which undoes
/// keeping statements compiled. `sqlite3_db_config` is variadic, so Swift cannot call it.
/// Returns SQLITE_OK (0) once the guarantee is on, else an SQLite error code.
int sb_sqlite3_enable_stable_plans(void *db);

#endif
