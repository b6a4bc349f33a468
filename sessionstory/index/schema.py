"""Tables of the index. Everything here can be rebuilt from the segment log, so a schema
change needs no migration: an index of another version is set aside and rebuilt."""

# 7: sessions.ip (truncated, where a project keeps it). 8: the times of the entry and exit pages and
# of the user named, on sessions and visitors, so batches arriving out of order fold to the same row.
SCHEMA_VERSION = 8

TABLES = """
CREATE TABLE IF NOT EXISTS meta (
    key VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS projects (
    id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    public_key VARCHAR NOT NULL UNIQUE,
    origins VARCHAR[] NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    id VARCHAR PRIMARY KEY,
    email VARCHAR NOT NULL UNIQUE,
    role VARCHAR NOT NULL,
    password_hash VARCHAR NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    id VARCHAR PRIMARY KEY,
    user_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    token_hash VARCHAR NOT NULL UNIQUE,
    created_ms BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS saved_filters (
    id VARCHAR PRIMARY KEY,
    project_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    query VARCHAR NOT NULL,
    created_ms BIGINT NOT NULL
);
-- A project's privacy settings (privacy.PrivacySettings as JSON); kept in the log like the accounts.
CREATE TABLE IF NOT EXISTS project_privacy (
    id VARCHAR PRIMARY KEY,         -- the project's id
    settings VARCHAR NOT NULL,
    updated_ms BIGINT NOT NULL
);
-- Who changed accounts, projects or data (audit.py); kept in the log like the accounts.
CREATE TABLE IF NOT EXISTS audit (
    id VARCHAR PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    actor VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    target VARCHAR NOT NULL,
    detail VARCHAR NOT NULL
);
-- Sessions erased on request (erasure.py): a late retry of one is acknowledged and dropped.
CREATE TABLE IF NOT EXISTS tombstones (
    session_id VARCHAR PRIMARY KEY,
    at_ms BIGINT NOT NULL
);
-- Comments pinned to a moment of a session; kept in the log like the accounts.
CREATE TABLE IF NOT EXISTS comments (
    id VARCHAR PRIMARY KEY,
    project_id VARCHAR NOT NULL,
    session_id VARCHAR NOT NULL,
    user_id VARCHAR NOT NULL,
    at_ms BIGINT NOT NULL,          -- the moment, in ms from the session's first event
    body VARCHAR NOT NULL,
    created_ms BIGINT NOT NULL
);
-- Read-only links to one session for people without an account; the token only as SHA-256.
CREATE TABLE IF NOT EXISTS share_links (
    id VARCHAR PRIMARY KEY,
    token_hash VARCHAR NOT NULL UNIQUE,
    project_id VARCHAR NOT NULL,
    session_id VARCHAR NOT NULL,
    created_by VARCHAR NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    revoked BOOLEAN NOT NULL
);
-- Dashboard sign-ins. Not in the log: a rebuilt index only signs people out.
CREATE TABLE IF NOT EXISTS web_sessions (
    id_hash VARCHAR PRIMARY KEY,
    user_id VARCHAR NOT NULL,
    csrf_token VARCHAR NOT NULL,
    expires_ms BIGINT NOT NULL
);
-- One row of summary facts per session, kept current as batches arrive.
CREATE TABLE IF NOT EXISTS sessions (
    id VARCHAR PRIMARY KEY,
    project_id VARCHAR NOT NULL,
    visitor_id VARCHAR NOT NULL,
    user_id VARCHAR,
    started_ms BIGINT NOT NULL,
    ended_ms BIGINT NOT NULL,
    active_ms BIGINT NOT NULL,
    event_count BIGINT NOT NULL,
    page_count INTEGER NOT NULL,
    entry_url VARCHAR,
    exit_url VARCHAR,
    referrer VARCHAR,
    clicks INTEGER NOT NULL,
    rage_clicks INTEGER NOT NULL,
    dead_clicks INTEGER NOT NULL,
    error_clicks INTEGER NOT NULL,
    thrashed_cursor INTEGER NOT NULL,
    quick_backs INTEGER NOT NULL,
    excessive_scrolls INTEGER NOT NULL,
    error_count INTEGER NOT NULL,
    console_errors INTEGER NOT NULL,
    console_warnings INTEGER NOT NULL,
    network_errors INTEGER NOT NULL,
    browser VARCHAR,
    os VARCHAR,
    device VARCHAR,
    country VARCHAR,
    ip VARCHAR,                     -- truncated (IPv4 /24, IPv6 /48), only where the project keeps it
    user_agent VARCHAR,
    lcp DOUBLE, inp DOUBLE, cls DOUBLE, fcp DOUBLE, ttfb DOUBLE,
    event_names VARCHAR[] NOT NULL,
    urls VARCHAR NOT NULL,          -- every page URL, newline-separated (the `url` filter)
    search_text VARCHAR NOT NULL,   -- titles, errors, console messages
    search_lower VARCHAR NOT NULL,  -- urls, search_text and user_id, lower-cased: what `q` scans
    last_received_ms BIGINT NOT NULL,
    entry_ms BIGINT,                -- when the entry page was viewed (the earliest page view)
    exit_ms BIGINT,                 -- when the exit page was viewed (the latest page view)
    user_ms BIGINT,                 -- when user_id was named (the latest naming wins)
    state BLOB                      -- signals.SessionState, msgpack
);
-- Where each batch of a session lives in the log: replay reads these, in seq order.
CREATE TABLE IF NOT EXISTS records (
    session_id VARCHAR NOT NULL,
    seq INTEGER NOT NULL,
    segment INTEGER NOT NULL,
    "offset" BIGINT NOT NULL,
    length INTEGER NOT NULL,
    PRIMARY KEY (session_id, seq)
);
CREATE TABLE IF NOT EXISTS pages (
    project_id VARCHAR NOT NULL, session_id VARCHAR NOT NULL, at_ms BIGINT NOT NULL,
    url VARCHAR NOT NULL, title VARCHAR, referrer VARCHAR, kind VARCHAR
);
-- Clicks, inputs and frustration signals, with coordinates: heatmaps come from here.
CREATE TABLE IF NOT EXISTS interactions (
    project_id VARCHAR NOT NULL, session_id VARCHAR NOT NULL, at_ms BIGINT NOT NULL,
    kind VARCHAR NOT NULL, url VARCHAR, selector VARCHAR, text VARCHAR,
    x INTEGER, y INTEGER, vw INTEGER, vh INTEGER
);
CREATE TABLE IF NOT EXISTS scroll_depths (
    project_id VARCHAR NOT NULL, session_id VARCHAR NOT NULL, at_ms BIGINT NOT NULL,
    url VARCHAR, depth INTEGER NOT NULL, height INTEGER
);
CREATE TABLE IF NOT EXISTS errors (
    project_id VARCHAR NOT NULL, session_id VARCHAR NOT NULL, visitor_id VARCHAR NOT NULL,
    at_ms BIGINT NOT NULL, url VARCHAR, kind VARCHAR, message VARCHAR NOT NULL, stack VARCHAR,
    source VARCHAR, fingerprint VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS console (
    project_id VARCHAR NOT NULL, session_id VARCHAR NOT NULL, at_ms BIGINT NOT NULL,
    url VARCHAR, level VARCHAR NOT NULL, message VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS network (
    project_id VARCHAR NOT NULL, session_id VARCHAR NOT NULL, at_ms BIGINT NOT NULL,
    page_url VARCHAR, method VARCHAR, url VARCHAR NOT NULL, status INTEGER, duration_ms INTEGER,
    type VARCHAR, error VARCHAR
);
CREATE TABLE IF NOT EXISTS vitals (
    project_id VARCHAR NOT NULL, session_id VARCHAR NOT NULL, at_ms BIGINT NOT NULL,
    url VARCHAR, name VARCHAR NOT NULL, value DOUBLE NOT NULL, rating VARCHAR
);
CREATE TABLE IF NOT EXISTS custom_events (
    project_id VARCHAR NOT NULL, session_id VARCHAR NOT NULL, at_ms BIGINT NOT NULL,
    url VARCHAR, name VARCHAR NOT NULL, props VARCHAR
);
-- The local model's summary of a session, for the model (by digest) and event count it saw.
CREATE TABLE IF NOT EXISTS insights (
    session_id VARCHAR PRIMARY KEY,
    model_sha VARCHAR NOT NULL,
    event_count BIGINT NOT NULL,
    body VARCHAR NOT NULL,
    created_ms BIGINT NOT NULL
);
-- One row per visitor of a project; `identify` names them and adds traits.
CREATE TABLE IF NOT EXISTS visitors (
    project_id VARCHAR NOT NULL,
    visitor_id VARCHAR NOT NULL,
    user_id VARCHAR,
    traits VARCHAR,
    first_ms BIGINT NOT NULL,
    last_ms BIGINT NOT NULL,
    session_count INTEGER NOT NULL,
    country VARCHAR,
    device VARCHAR,
    browser VARCHAR,
    os VARCHAR,
    user_ms BIGINT,                 -- when user_id was named (the latest naming wins)
    traits_ms BIGINT,               -- when the identify that sent traits happened (the latest wins)
    PRIMARY KEY (project_id, visitor_id)
);
"""
