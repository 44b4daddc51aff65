"""The SQL unit of work: one database transaction per ``with uow:`` block.

::

    uow = SqlUnitOfWork(make_engine(url))
    with uow:
        chain = uow.chains.get(line)
        ...
        uow.chains.save(chain)
        uow.commit()      # leaving the block without commit rolls everything back

The block takes a connection from the engine's pool and gives it back at the end. A commit ends
the transaction; statements after it run in a new one, which the end of the block rolls back
unless it is committed too.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from jisflow.adapters.db import api_repositories as api_repos
from jisflow.adapters.db import execution_repositories as exec_repos
from jisflow.adapters.db import inventory_repositories as inv_repos
from jisflow.adapters.db import locking
from jisflow.adapters.db import repositories as repos
from jisflow.adapters.db import tenancy
from jisflow.adapters.db.writes import Transaction
from jisflow.domain.calloff import CallOffLine, CallWindow, StoredCalls
from jisflow.services import unit_of_work as ports


class SqlUnitOfWork(ports.AbstractUnitOfWork):
    def __init__(self, engine: sa.Engine) -> None:
        super().__init__()
        self.engine = engine
        self._connection: sa.Connection | None = None
        self._transaction = Transaction()
        self._open_repositories()

    def _open_repositories(self) -> None:
        connect = self._transaction
        self.plants = repos.SqlPlantRepository(connect)
        self.chains = repos.SqlChainRepository(connect)
        self.calloffs = repos.SqlCallOffRepository(connect)
        self.jit_calls = repos.SqlSummarizedCallRepository(connect)
        self.alerts = repos.SqlAlertRepository(connect)
        self.outbox = repos.SqlOutbox(connect)
        self.inbox = repos.SqlInbox(connect)
        self.inventory = inv_repos.SqlInventoryRepository(connect)
        self.purchasing = inv_repos.SqlPurchasingRepository(connect)
        self.execution = exec_repos.SqlExecutionRepository(connect)
        self.audit = api_repos.SqlAuditLog(connect)
        self.accounts = api_repos.SqlAccountRepository(connect)
        self.idempotency = api_repos.SqlIdempotencyStore(connect)
        self.webhooks = api_repos.SqlWebhookRepository(connect)

    def companion(self) -> SqlUnitOfWork | None:
        """On PostgreSQL, another unit of work on the same engine (its pool, and what the process
        keeps of lines and items, are shared). SQLite has one writer at a time: None."""
        return SqlUnitOfWork(self.engine) if self.engine.dialect.name == "postgresql" else None

    def _active_connection(self) -> sa.Connection:
        if self._connection is None:
            raise RuntimeError("the unit of work is used outside its `with` block")
        return self._connection

    def __enter__(self) -> SqlUnitOfWork:
        if self._connection is not None:
            raise RuntimeError("the unit of work is already in a `with` block; it does not nest")
        super().__enter__()
        self._connection = self.engine.connect()
        self._transaction = Transaction()
        self._transaction.connection = self._connection
        self._transaction.assuming = self.assume_kept
        self._open_repositories()
        tenancy.set_tenant(self._connection, self.tenant)
        return self

    def __exit__(self, *args: Any) -> None:
        try:
            super().__exit__(*args)
        finally:
            if self._connection is not None:
                self._transaction.discard()
                self._transaction.connection = None
                self._connection.close()
                self._connection = None
        lost = locking.contention(args[1]) if len(args) > 1 and args[1] is not None else None
        if lost is not None:  # a lost race, rolled back: the bus may run the command again
            raise lost from args[1]

    def issuing_state(self, line: str, order_ids: list[str], windows: set[CallWindow]) -> tuple[dict[tuple[str, str], CallOffLine], StoredCalls]:
        """Both reads in one round trip."""
        live, calls = self.calloffs.live_lines_read(line, order_ids), self.jit_calls.gather_read(line, order_ids, windows)
        reads = [read for read in (live, calls) if read is not None]
        found = iter(self._transaction.read_together(reads, repos.ISSUING_TABLES)) if reads else iter(())
        lines = self.calloffs.live_lines_from(next(found)) if live is not None else {}
        stored = self.jit_calls.gather_from(next(found), order_ids, windows) if calls is not None else StoredCalls()
        return lines, stored

    def _commit(self) -> None:
        connection = self._active_connection()
        transaction = connection.get_transaction()
        self._transaction.flush(commit=connection.commit)  # the waiting writes travel with the COMMIT
        tenancy.committed(connection, transaction)  # the tenant set in it now stays with the connection
        self.chains.committed()

    def _rollback(self) -> None:
        self.chains.rolled_back()
        self._transaction.discard()
        if self._connection is not None:
            self._connection.rollback()
