"""Age-based retention of the prediction log: archive old rows to the lake, then delete them.

A prediction is old when it was made before the cut (now minus the retention age). It leaves
the log with its group: the shadow predictions of the same request (which take its label)
and the feedback of any of them, wherever those fall in time, so the join monitoring uses
(`queries.labelled`) never sees half a group. Feedback whose prediction was never logged
goes by its own age.

The work goes in batches of `batch_size` predictions:
  1. read the next batches (short reads; up to BATCHES_PER_FILE of them, so each archive
     partition gets one file of them rather than a small file per batch);
  2. write the rows the archive does not hold yet as Parquet part files (`archive`), each
     flushed to disk and read back before going on;
  3. delete each batch in its own short transaction: every archived feedback row, and every
     prediction of the batch unless feedback arrived for its group after step 1 (that group
     stays for the next run, which archives it complete).
So nothing is deleted before it is durably in the archive, the live writer waits at most for
one batch's delete, and a re-run (after a crash between steps 2 and 3) adds no duplicates:
rows already in their partition's files are not written again.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from homeprice.config import Settings
from homeprice.data.lake import Lake
from homeprice.durations import parse_duration
from homeprice.errors import HomepriceError, UserInputError
from homeprice.predictionlog import archive
from homeprice.predictionlog.database import create_engine, reason, store_url
from homeprice.predictionlog.migrate import upgrade
from homeprice.predictionlog.schema import feedback, prediction_logs, utc

log = logging.getLogger(__name__)

PartitionKey = tuple[str, str, str]  # (table, dataset, day)
# Batches read (and held in memory) per archive file: with the default batch size, files of
# some 20,000 predictions, instead of one small file per delete transaction.
BATCHES_PER_FILE = 20


@dataclass
class PartitionCount:
    """What one prune did to one archive partition (table, dataset, day)."""

    table: str
    dataset: str
    day: str
    # Rows newly written to the archive, and rows found there already (an earlier run).
    archived: int = 0
    already_archived: int = 0
    deleted: int = 0
    files: list[str] = field(default_factory=list)


@dataclass
class PruneReport:
    """The outcome of one prune: the cut, and per partition what was archived and deleted."""

    older_than: str
    cut: datetime
    dataset: str | None
    dry_run: bool
    batches: int = 0
    # Predictions left in the log because feedback arrived while they were being archived.
    kept_for_late_feedback: int = 0
    partitions: dict[PartitionKey, PartitionCount] = field(default_factory=dict)

    def count(self, key: PartitionKey) -> PartitionCount:
        """The counters of one partition (created on first use)."""
        if key not in self.partitions:
            self.partitions[key] = PartitionCount(*key)
        return self.partitions[key]

    def totals(self) -> dict[str, dict[str, int]]:
        """Rows archived, already archived and deleted per table."""
        totals: dict[str, dict[str, int]] = {
            table: {"archived": 0, "already_archived": 0, "deleted": 0}
            for table in (archive.PREDICTIONS, archive.FEEDBACK)}
        for count in self.partitions.values():
            for name in ("archived", "already_archived", "deleted"):
                totals[count.table][name] += getattr(count, name)
        return totals

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-able data (the CLI's --json and the DAG task's result)."""
        return {"older_than": self.older_than, "cut": self.cut.isoformat(),
                "dataset": self.dataset, "dry_run": self.dry_run, "batches": self.batches,
                "kept_for_late_feedback": self.kept_for_late_feedback,
                "totals": self.totals(),
                "partitions": [vars(count) | {"files": list(count.files)}
                               for _, count in sorted(self.partitions.items())]}


@dataclass
class _Batch:
    """One batch of old groups as read: rows, and the archive partition of each row."""

    predictions: list[dict[str, Any]]
    labels: list[dict[str, Any]]
    # The keyset (ts, prediction_id) of its last root: the next batch starts after it.
    last: tuple[datetime, str]
    where: dict[str, PartitionKey] = field(default_factory=dict)
    labels_where: dict[str, PartitionKey] = field(default_factory=dict)
    grouped: dict[PartitionKey, list[dict[str, Any]]] = field(
        default_factory=lambda: defaultdict(list))


class _Pruner:
    """One prune run: its cut, its report and the archive's ids seen so far per partition."""

    def __init__(self, engine: Engine, lake: Lake, report: PruneReport, batch_size: int
                 ) -> None:
        self.engine = engine
        self.lake = lake
        self.report = report
        self.batch_size = batch_size
        self._known: dict[PartitionKey, set[str]] = {}

    # -- step 1: read ------------------------------------------------------------------------
    def _roots(self, connection: Connection, after: tuple[datetime, str] | None
               ) -> list[dict[str, Any]]:
        """The next old predictions that head a group: served ones, and shadows whose parent
        is not logged; oldest first, after the keyset `after`."""
        p = prediction_logs
        parent = prediction_logs.alias("parent")
        query = sa.select(p).where(
            p.c.ts < self.report.cut,
            sa.or_(p.c.parent_prediction_id.is_(None),
                   ~sa.exists().where(parent.c.prediction_id == p.c.parent_prediction_id)))
        if self.report.dataset is not None:
            query = query.where(p.c.dataset == self.report.dataset)
        if after is not None:
            # Keyset paging: rows kept for late feedback must not be read again in this run.
            ts, prediction_id = after
            query = query.where(sa.or_(p.c.ts > ts,
                                       sa.and_(p.c.ts == ts, p.c.prediction_id > prediction_id)))
        query = query.order_by(p.c.ts, p.c.prediction_id).limit(self.batch_size)
        return [dict(row) for row in connection.execute(query).mappings()]

    def _group_rows(self, connection: Connection, roots: list[dict[str, Any]]
                    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The batch's predictions (roots and their shadows) and their feedback."""
        root_ids = [row["prediction_id"] for row in roots]
        shadows = connection.execute(
            sa.select(prediction_logs).where(prediction_logs.c.parent_prediction_id.in_(root_ids))
        ).mappings()
        predictions = roots + [dict(row) for row in shadows]
        ids = [row["prediction_id"] for row in predictions]
        labels = connection.execute(
            sa.select(feedback).where(feedback.c.prediction_id.in_(ids))).mappings()
        return predictions, [dict(row) for row in labels]

    # -- step 2: archive ---------------------------------------------------------------------
    def _archived(self, key: PartitionKey) -> set[str]:
        if key not in self._known:
            self._known[key] = archive.archived_ids(self.lake, *key)
        return self._known[key]

    def _archive(self, rows_by_partition: dict[PartitionKey, list[dict[str, Any]]]) -> None:
        """Write the rows their partitions do not hold yet (nothing in a dry run)."""
        for key, rows in sorted(rows_by_partition.items()):
            known = self._archived(key)
            fresh = [row for row in rows if row["prediction_id"] not in known]
            count = self.report.count(key)
            count.already_archived += len(rows) - len(fresh)
            count.archived += len(fresh)
            if fresh and not self.report.dry_run:
                count.files.append(archive.write_part(self.lake, *key, fresh))
                known.update(row["prediction_id"] for row in fresh)

    # -- step 3: delete ----------------------------------------------------------------------
    def _delete(self, predictions: list[dict[str, Any]], labels: list[dict[str, Any]]
                ) -> tuple[set[str], set[str]]:
        """Delete the archived batch in one transaction; the ids deleted from each table."""
        p, f = prediction_logs, feedback
        ids = [row["prediction_id"] for row in predictions]
        label_ids = [row["prediction_id"] for row in labels]
        # Feedback that is not in the archive (it arrived after the batch was read) names its
        # prediction or that prediction's shadows: those stay, so no label loses its row.
        late = sa.exists().where(
            sa.or_(f.c.prediction_id == p.c.prediction_id,
                   f.c.prediction_id == p.c.parent_prediction_id),
            f.c.prediction_id.not_in(label_ids))
        with self.engine.begin() as connection:
            # A write first: on SQLite it takes the write lock, so no feedback can slip in
            # between the check above and the delete of the labels below.
            deleted = set(connection.execute(
                sa.delete(p).where(p.c.prediction_id.in_(ids), ~late)
                .returning(p.c.prediction_id)).scalars())
            deleted_labels: set[str] = set()
            if label_ids:
                deleted_labels = set(connection.execute(
                    sa.delete(f).where(f.c.prediction_id.in_(label_ids))
                    .returning(f.c.prediction_id)).scalars())
        return deleted, deleted_labels

    # -- the loop ----------------------------------------------------------------------------
    def _read_batch(self, after: tuple[datetime, str] | None) -> _Batch | None:
        """The next batch of old groups after the keyset `after` (None when there is none)."""
        with self.engine.connect() as connection:
            roots = self._roots(connection, after)
            if not roots:
                return None
            predictions, labels = self._group_rows(connection, roots)
        self.report.batches += 1
        batch = _Batch(predictions, labels, (roots[-1]["ts"], roots[-1]["prediction_id"]))
        for row in predictions:
            key = (archive.PREDICTIONS, row["dataset"], archive.day_of(row["ts"]))
            batch.where[row["prediction_id"]] = key
            batch.grouped[key].append(row)
        for row in labels:
            _, dataset, day = batch.where[row["prediction_id"]]
            key = (archive.FEEDBACK, dataset, day)
            batch.labels_where[row["prediction_id"]] = key
            batch.grouped[key].append(row | {"dataset": dataset})
        return batch

    def run_predictions(self) -> None:
        """Archive and delete old predictions with their groups' feedback, batch by batch."""
        after: tuple[datetime, str] | None = None
        while True:
            # Several batches share one archive file per partition (fewer, larger Parquet
            # files); each batch is still deleted in its own short transaction.
            batches: list[_Batch] = []
            while len(batches) < BATCHES_PER_FILE:
                batch = self._read_batch(after)
                if batch is None:
                    break
                batches.append(batch)
                after = batch.last
            if not batches:
                return
            grouped: dict[PartitionKey, list[dict[str, Any]]] = defaultdict(list)
            for batch in batches:
                for key, rows in batch.grouped.items():
                    grouped[key].extend(rows)
            self._archive(grouped)
            for batch in batches:
                if self.report.dry_run:
                    self._count_deleted(batch.where, set(batch.where), batch.labels_where,
                                        set(batch.labels_where))
                    continue
                deleted, deleted_labels = self._delete(batch.predictions, batch.labels)
                self.report.kept_for_late_feedback += len(batch.where) - len(deleted)
                self._count_deleted(batch.where, deleted, batch.labels_where, deleted_labels)
                log.info("prune: archived and deleted %d predictions, %d feedback rows",
                         len(deleted), len(deleted_labels))
            if len(batches) < BATCHES_PER_FILE:
                return

    def run_orphaned_feedback(self) -> None:
        """Archive and delete old feedback whose prediction is not in the log."""
        f, p = feedback, prediction_logs
        orphan = ~sa.exists().where(p.c.prediction_id == f.c.prediction_id)
        after: tuple[datetime, str] | None = None
        while True:
            query = sa.select(f).where(f.c.ts < self.report.cut, orphan)
            if after is not None:
                ts, prediction_id = after
                query = query.where(sa.or_(f.c.ts > ts, sa.and_(
                    f.c.ts == ts, f.c.prediction_id > prediction_id)))
            query = query.order_by(f.c.ts, f.c.prediction_id).limit(self.batch_size)
            with self.engine.connect() as connection:
                labels = [dict(row) for row in connection.execute(query).mappings()]
            if not labels:
                return
            after = (labels[-1]["ts"], labels[-1]["prediction_id"])
            self.report.batches += 1
            where = {row["prediction_id"]: (archive.FEEDBACK, archive.ORPHANED,
                                            archive.day_of(row["ts"])) for row in labels}
            grouped: dict[PartitionKey, list[dict[str, Any]]] = defaultdict(list)
            for row in labels:
                grouped[where[row["prediction_id"]]].append(row | {"dataset": archive.ORPHANED})
            self._archive(grouped)
            if self.report.dry_run:
                self._count_deleted({}, set(), where, set(where))
                continue
            with self.engine.begin() as connection:
                # Still orphaned: a prediction row that turned up meanwhile keeps its label.
                deleted = set(connection.execute(
                    sa.delete(f).where(f.c.prediction_id.in_(list(where)), orphan)
                    .returning(f.c.prediction_id)).scalars())
            self._count_deleted({}, set(), where, deleted)

    def _count_deleted(self, where: dict[str, PartitionKey], deleted: set[str],
                       labels_where: dict[str, PartitionKey], deleted_labels: set[str]) -> None:
        for ids, places in ((deleted, where), (deleted_labels, labels_where)):
            for prediction_id in ids:
                self.report.count(places[prediction_id]).deleted += 1


def prune(engine: Engine, lake: Lake, older_than: timedelta, *, dataset: str | None = None,
          batch_size: int = 1000, dry_run: bool = False, now: datetime | None = None,
          older_than_text: str | None = None) -> PruneReport:
    """Archive prediction log rows older than `older_than` to `lake`, then delete them.

    With `dataset`, only that dataset's predictions (and their feedback); without, also old
    feedback whose prediction was never logged. A dry run reads and counts, and writes and
    deletes nothing.
    """
    if older_than <= timedelta(0):
        raise UserInputError(f"older_than must be longer than zero, got {older_than}")
    if batch_size < 1:
        raise UserInputError(f"batch_size must be at least 1, got {batch_size}")
    cut = (datetime.now(UTC) if now is None else utc(now)) - older_than
    report = PruneReport(older_than=older_than_text or str(older_than), cut=cut,
                         dataset=dataset, dry_run=dry_run)
    pruner = _Pruner(engine, lake, report, batch_size)
    pruner.run_predictions()
    if dataset is None:
        pruner.run_orphaned_feedback()
    return report


def _has_log(engine: Engine) -> bool:
    url = engine.url
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return False  # connecting would create an empty database just to find nothing
    return sa.inspect(engine).has_table(prediction_logs.name)


def prune_log(settings: Settings, older_than: str | None = None, dataset: str | None = None,
              *, dry_run: bool = False, batch_size: int | None = None,
              now: datetime | None = None) -> PruneReport:
    """`prune` on the configured log and lake; age and batch size default to
    `log_retention` in the settings."""
    text = older_than or settings.log_retention.older_than
    age = parse_duration(text, "--older-than")
    size = batch_size if batch_size is not None else settings.log_retention.batch_size
    url = store_url(settings.log_url)
    engine = create_engine(url)
    try:
        if not _has_log(engine):
            cut = (datetime.now(UTC) if now is None else utc(now)) - age
            return PruneReport(older_than=text, cut=cut, dataset=dataset, dry_run=dry_run)
        if not dry_run:
            upgrade(engine, url)  # an older schema lacks columns the archive keeps
        return prune(engine, Lake(settings.lake_root), age, dataset=dataset, batch_size=size,
                     dry_run=dry_run, now=now, older_than_text=text)
    except SQLAlchemyError as exc:
        # The driver's message, and the URL without its password: this line reaches task logs.
        raise HomepriceError(f"cannot prune the prediction log at "
                             f"{url.render_as_string(hide_password=True)}: "
                             f"{exc.__class__.__name__}: {reason(exc)}") from exc
    finally:
        engine.dispose()

