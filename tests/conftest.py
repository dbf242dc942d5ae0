"""Shared fixtures: the real Redis and PostgreSQL the test command starts.

Tests get their own Redis database number (9) and their own PostgreSQL schema
(`isoko_test` inside the `test` database), so they never touch a developer's data.
"""
from __future__ import annotations

import os

import pytest
import redis

TEST_REDIS_URL = os.environ.get("ISOKO_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
TEST_PG_SCHEMA = "isoko_test"
TEST_PG_URL = os.environ.get(
    "ISOKO_TEST_DATABASE_URL",
    "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    f"?options=-csearch_path%3D{TEST_PG_SCHEMA}",
)


@pytest.fixture
def redis_url() -> str:
    return TEST_REDIS_URL


@pytest.fixture
def redis_client(redis_url):
    """A client on the tests' own Redis database, emptied before and after each test."""
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()
