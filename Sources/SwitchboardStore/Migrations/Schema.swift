/// One step of the schema's history. Steps are append-only: a released step is never
/// edited, a change is a new step. The same text runs on SQLite and PostgreSQL (dialect
/// tokens such as `{{id}}` are filled per database).
struct Migration: Sendable {
    var version: Int
    var name: String
    var statements: [String]
    /// Run after `statements` on PostgreSQL only: what only its planner can use.
    var postgresStatements: [String] = []
    /// Run after `statements` on SQLite only: what only its one-writer queue uses.
    var sqliteStatements: [String] = []
}

/// The whole history, oldest first.
enum Schema {
    static let migrations: [Migration] = [
        initial, outbound, sendAttempts, accounts, bot, queueClaims, workflow, dashboard, claimsSkipDead, claimsSkipWaiting,
        webhookSplits,
    ]

    static var latestVersion: Int { migrations.last?.version ?? 0 }

    /// Pages, contacts, conversations, messages, the raw webhook log, the embedded queue,
    /// users and sessions, sign-in tokens, API tokens, bot settings, the audit log and
    /// the realtime event log (architecture, "Data"). Times are milliseconds since 1970.
    static let initial = Migration(
        version: 1,
        name: "initial",
        statements: [
            """
            CREATE TABLE pages (
                id TEXT PRIMARY KEY,
                name TEXT,
                access_token {{bytes}},
                app_secret {{bytes}},
                state TEXT NOT NULL DEFAULT 'active',
                state_reason TEXT,
                paused_until BIGINT,
                subscribed_at BIGINT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE contacts (
                id {{id}},
                page_id TEXT NOT NULL,
                psid TEXT NOT NULL,
                name TEXT,
                first_name TEXT,
                last_name TEXT,
                avatar_url TEXT,
                profile_fetched_at BIGINT,
                profile_requested_at BIGINT,
                profile_error TEXT,
                unreachable_at BIGINT,
                first_seen_at BIGINT NOT NULL,
                UNIQUE (page_id, psid)
            )
            """,
            """
            CREATE TABLE conversations (
                id {{id}},
                page_id TEXT NOT NULL,
                contact_id BIGINT NOT NULL REFERENCES contacts(id),
                last_inbound_at BIGINT,
                last_message_at BIGINT,
                last_message_preview TEXT,
                message_count BIGINT NOT NULL DEFAULT 0,
                unread_count BIGINT NOT NULL DEFAULT 0,
                delivered_watermark BIGINT NOT NULL DEFAULT 0,
                read_watermark BIGINT NOT NULL DEFAULT 0,
                bot_state TEXT NOT NULL DEFAULT 'off',
                bot_reason TEXT,
                assignee_id TEXT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                UNIQUE (page_id, contact_id)
            )
            """,
            "CREATE INDEX conversations_activity ON conversations (last_message_at DESC, id DESC)",
            "CREATE INDEX conversations_page_activity ON conversations (page_id, last_message_at DESC, id DESC)",
            """
            CREATE TABLE messages (
                id {{id}},
                conversation_id BIGINT NOT NULL REFERENCES conversations(id),
                page_id TEXT NOT NULL,
                direction TEXT NOT NULL,
                author TEXT NOT NULL,
                author_id TEXT,
                kind TEXT NOT NULL DEFAULT 'message',
                text TEXT,
                attachments TEXT,
                quick_reply_payload TEXT,
                postback_payload TEXT,
                referral TEXT,
                reply_to_mid TEXT,
                mid TEXT,
                client_id TEXT,
                status TEXT NOT NULL,
                error_code BIGINT,
                error_subcode BIGINT,
                error_message TEXT,
                fbtrace_id TEXT,
                sent_timestamp BIGINT NOT NULL,
                created_at BIGINT NOT NULL,
                sent_at BIGINT,
                delivered_at BIGINT,
                read_at BIGINT,
                failed_at BIGINT,
                UNIQUE (page_id, mid),
                UNIQUE (conversation_id, client_id)
            )
            """,
            "CREATE INDEX messages_thread ON messages (conversation_id, sent_timestamp, id)",
            """
            CREATE TABLE reactions (
                id {{id}},
                page_id TEXT NOT NULL,
                mid TEXT NOT NULL,
                psid TEXT NOT NULL,
                action TEXT NOT NULL,
                reaction TEXT,
                emoji TEXT,
                event_timestamp BIGINT NOT NULL,
                UNIQUE (page_id, mid, psid, event_timestamp, action)
            )
            """,
            "CREATE INDEX reactions_message ON reactions (page_id, mid)",
            """
            CREATE TABLE webhook_events (
                id {{id}},
                received_at BIGINT NOT NULL,
                body {{bytes}} NOT NULL,
                processed_at BIGINT,
                event_count BIGINT,
                error TEXT
            )
            """,
            """
            CREATE TABLE unhandled_events (
                id {{id}},
                webhook_event_id BIGINT NOT NULL,
                event_index BIGINT NOT NULL,
                page_id TEXT,
                kind TEXT NOT NULL,
                reason TEXT,
                body TEXT NOT NULL,
                UNIQUE (webhook_event_id, event_index)
            )
            """,
            "CREATE INDEX unhandled_events_kind ON unhandled_events (kind, page_id)",
            """
            CREATE TABLE jobs (
                id {{id}},
                kind TEXT NOT NULL,
                partition_key TEXT,
                payload {{bytes}} NOT NULL,
                state TEXT NOT NULL DEFAULT 'ready',
                attempts BIGINT NOT NULL DEFAULT 0,
                max_attempts BIGINT NOT NULL,
                run_at BIGINT NOT NULL,
                lease_until BIGINT,
                leased_by TEXT,
                last_error TEXT,
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX jobs_ready ON jobs (state, run_at, id)",
            "CREATE INDEX jobs_partition ON jobs (partition_key, id)",
            """
            CREATE TABLE users (
                id {{id}},
                email TEXT NOT NULL UNIQUE,
                name TEXT,
                role TEXT NOT NULL DEFAULT 'agent',
                created_at BIGINT NOT NULL,
                disabled_at BIGINT
            )
            """,
            """
            CREATE TABLE sessions (
                id {{id}},
                user_id BIGINT NOT NULL REFERENCES users(id),
                token_hash TEXT NOT NULL UNIQUE,
                created_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                last_seen_at BIGINT,
                revoked_at BIGINT,
                user_agent TEXT,
                ip TEXT
            )
            """,
            """
            CREATE TABLE sign_in_tokens (
                id {{id}},
                email TEXT NOT NULL,
                token_hash TEXT NOT NULL UNIQUE,
                created_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                used_at BIGINT,
                requested_ip TEXT
            )
            """,
            """
            CREATE TABLE api_tokens (
                id {{id}},
                name TEXT NOT NULL,
                token_hash TEXT NOT NULL UNIQUE,
                user_id BIGINT,
                created_at BIGINT NOT NULL,
                last_used_at BIGINT,
                revoked_at BIGINT
            )
            """,
            """
            CREATE TABLE bot_settings (
                page_id TEXT PRIMARY KEY,
                enabled BIGINT NOT NULL DEFAULT 0,
                llm_base_url TEXT,
                llm_model TEXT,
                llm_api_key {{bytes}},
                system_prompt TEXT,
                knowledge TEXT,
                settings TEXT,
                updated_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE audit_log (
                id {{id}},
                at BIGINT NOT NULL,
                actor TEXT NOT NULL,
                action TEXT NOT NULL,
                subject TEXT,
                detail TEXT
            )
            """,
            """
            CREATE TABLE realtime_events (
                id {{id}},
                at BIGINT NOT NULL,
                name TEXT NOT NULL,
                conversation_id BIGINT,
                payload TEXT NOT NULL
            )
            """,
        ]
    )

    /// The outbound path (issue 4): quick replies offered with an outbound message (JSON),
    /// and the stable code of a failed send (`graph.window_closed`, `window.closed`, …) next
    /// to Meta's numeric code and subcode.
    static let outbound = Migration(
        version: 2,
        name: "outbound",
        statements: [
            "ALTER TABLE messages ADD COLUMN quick_replies TEXT",
            "ALTER TABLE messages ADD COLUMN error_kind TEXT",
        ]
    )

    /// When a send of the message went out to Meta and its outcome is not yet recorded. A
    /// process killed mid-call leaves it set, so the next attempt knows Meta may have sent
    /// the message and waits for the echo before sending again (invariant 5).
    static let sendAttempts = Migration(
        version: 3,
        name: "send_attempts",
        statements: [
            "ALTER TABLE messages ADD COLUMN send_started_at BIGINT"
        ]
    )

    /// Accounts and realtime (issue 6): the Pages an agent is limited to (JSON list, NULL
    /// = every Page), and the indexes sign-in rate limits, session revocation and the
    /// realtime log's pruning use.
    static let accounts = Migration(
        version: 4,
        name: "accounts",
        statements: [
            "ALTER TABLE users ADD COLUMN page_ids TEXT",
            "CREATE INDEX sessions_user ON sessions (user_id)",
            "CREATE INDEX sign_in_tokens_email ON sign_in_tokens (email, created_at)",
            "CREATE INDEX sign_in_tokens_ip ON sign_in_tokens (requested_ip, created_at)",
            "CREATE INDEX realtime_events_at ON realtime_events (at)",
        ]
    )

    /// The bot (issue 9): each conversation's `BotConversationState` (JSON) next to the
    /// existing `bot_state`/`bot_reason` summary, and a version the worker, the inbound path
    /// and the API compare-and-set, so a pause that lands while an answer is being made is
    /// never overwritten by it.
    static let bot = Migration(
        version: 5,
        name: "bot",
        statements: [
            "ALTER TABLE conversations ADD COLUMN bot_policy TEXT",
            "ALTER TABLE conversations ADD COLUMN bot_version BIGINT NOT NULL DEFAULT 0",
        ]
    )

    /// Claims that stay cheap under an ingest backlog: the split jobs of every stored
    /// webhook share one partition, and a claim looking for the next job of each partition
    /// would otherwise walk that whole backlog. This index lists every other job, in order;
    /// the split partition's head is found with one seek.
    static let queueClaims = Migration(
        version: 6,
        name: "queue_claims",
        statements: [
            "CREATE INDEX jobs_claim_order ON jobs (id) WHERE partition_key IS NULL OR partition_key <> 'webhook'"
        ]
    )

    /// Resolution and the bot's stats (issue 9): a conversation is `open` or `resolved` (a
    /// new customer message reopens it); `bot_answers` keeps one row per answer the bot made,
    /// with its model call's latency, tokens and failure code, written with the save that
    /// ends the answer; and the audit log is searchable by action and time (handovers).
    static let workflow = Migration(
        version: 7,
        name: "workflow",
        statements: [
            "ALTER TABLE conversations ADD COLUMN status TEXT NOT NULL DEFAULT 'open'",
            """
            CREATE TABLE bot_answers (
                id {{id}},
                page_id TEXT NOT NULL,
                conversation_id BIGINT NOT NULL,
                at BIGINT NOT NULL,
                outcome TEXT NOT NULL,
                llm_ms BIGINT,
                prompt_tokens BIGINT,
                completion_tokens BIGINT,
                llm_error TEXT
            )
            """,
            "CREATE INDEX bot_answers_page ON bot_answers (page_id, at)",
            "CREATE INDEX audit_log_action ON audit_log (action, at)",
        ]
    )

    /// The dashboard (issue 7): messages by time, for the Status screen's counts since the
    /// start of the day and its hourly trend (without it every refresh reads every message).
    static let dashboard = Migration(
        version: 8,
        name: "dashboard",
        statements: [
            "CREATE INDEX messages_time ON messages (sent_timestamp)"
        ]
    )

    /// Claims that stay cheap as dead letters and other kinds' jobs pile up: the claim order
    /// index leaves dead letters out too, and on PostgreSQL a claimer for one kind (a lane
    /// such as the bot's) walks that kind's jobs only. PostgreSQL plans claims as index
    /// walks (`QueryPlanning.indexWalks`); SQLite names its index.
    static let claimsSkipDead = Migration(
        version: 9,
        name: "claims_skip_dead",
        statements: [
            "DROP INDEX jobs_claim_order",
            "CREATE INDEX jobs_claim_order ON jobs (id) WHERE state <> 'dead' AND (partition_key IS NULL OR partition_key <> 'webhook')",
        ],
        postgresStatements: [
            "CREATE INDEX jobs_claim_kind ON jobs (kind, id) WHERE state <> 'dead' AND (partition_key IS NULL OR partition_key <> 'webhook')"
        ]
    )

    /// Claims that stay cheap while conversations wait: the jobs behind a retry or a paused
    /// Page (state `waiting`, see `EmbeddedJobQueue.fail`) leave the claim indexes, as dead
    /// letters did. `jobs_waiting` finds the jobs to put back once that retry is over; on
    /// SQLite, `jobs_held` finds, for a new job, a retry it must wait behind.
    static let claimsSkipWaiting = Migration(
        version: 10,
        name: "claims_skip_waiting",
        statements: [
            "DROP INDEX jobs_claim_order",
            "CREATE INDEX jobs_claim_order ON jobs (id) WHERE state IN ('ready', 'leased') AND (partition_key IS NULL OR partition_key <> 'webhook')",
            "CREATE INDEX jobs_waiting ON jobs (partition_key, id) WHERE state = 'waiting'",
        ],
        postgresStatements: [
            "DROP INDEX jobs_claim_kind",
            "CREATE INDEX jobs_claim_kind ON jobs (kind, id) WHERE state IN ('ready', 'leased') AND (partition_key IS NULL OR partition_key <> 'webhook')",
        ],
        sqliteStatements: [
            "CREATE INDEX jobs_held ON jobs (partition_key) WHERE state = 'ready' AND attempts > 0"
        ]
    )

    /// What a webhook's split found (when, how many events, why it failed) moves to a narrow
    /// table of its own, so the raw webhook log is only ever inserted into. Marking a
    /// webhook split used to rewrite its row: on PostgreSQL a new version of the whole body
    /// on another page, in the WAL a second time (2.9 KB for a webhook of ten events, the
    /// page's full image after a checkpoint), and a dead version as large as the body for
    /// vacuum (docs/ingest.md, session 13). No foreign key: its check would lock the
    /// webhook's row, which writes to it again.
    static let webhookSplits = Migration(
        version: 11,
        name: "webhook_splits",
        statements: [
            """
            CREATE TABLE webhook_splits (
                webhook_event_id BIGINT PRIMARY KEY,
                split_at BIGINT NOT NULL,
                event_count BIGINT NOT NULL,
                error TEXT
            )
            """,
            """
            INSERT INTO webhook_splits (webhook_event_id, split_at, event_count, error)
            SELECT id, processed_at, COALESCE(event_count, 0), error FROM webhook_events WHERE processed_at IS NOT NULL
            """,
            "ALTER TABLE webhook_events DROP COLUMN processed_at",
            "ALTER TABLE webhook_events DROP COLUMN event_count",
            "ALTER TABLE webhook_events DROP COLUMN error",
        ]
    )
}
