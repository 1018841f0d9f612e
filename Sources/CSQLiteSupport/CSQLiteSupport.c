#include "CSQLiteSupport.h"
#include <sqlite_nio_sqlite3.h>

int sb_sqlite3_enable_stable_plans(void *db) {
    int enabled = 0;
    int status = sqlite_nio_sqlite3_db_config((sqlite3 *)db, SQLITE_DBCONFIG_ENABLE_QPSG, 1, &enabled);
    if (status != SQLITE_OK) return status;
    return enabled ? SQLITE_OK : SQLITE_ERROR;
}
