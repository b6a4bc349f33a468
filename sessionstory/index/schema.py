"""Tables of the index. Everything here can be rebuilt from the segment log."""

SCHEMA_VERSION = 1

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
-- Dashboard sign-ins. Not in the log: a rebuilt index only signs people out.
CREATE TABLE IF NOT EXISTS web_sessions (
    id_hash VARCHAR PRIMARY KEY,
    user_id VARCHAR NOT NULL,
    csrf_token VARCHAR NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    id VARCHAR PRIMARY KEY,
    project_id VARCHAR NOT NULL,
    visitor_id VARCHAR NOT NULL,
    user_id VARCHAR,
    started_ms BIGINT NOT NULL,
    ended_ms BIGINT NOT NULL,
    event_count BIGINT NOT NULL,
    page_count INTEGER NOT NULL,
    entry_url VARCHAR,
    exit_url VARCHAR,
    user_agent VARCHAR,
    last_received_ms BIGINT NOT NULL
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
"""
