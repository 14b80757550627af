import type Database from "better-sqlite3";

/**
 * The SQLite store's statements, prepared once per connection. Same SQL shape as the PostgreSQL
 * store (postgres/sql.ts), minus what one serialised connection does not need.
 */
export function prepareStatements(db: Database.Database) {
  return {
    addSite: db.prepare(`INSERT INTO sites (site) VALUES (?) ON CONFLICT DO NOTHING`),
    insertMessage: db.prepare(
      `INSERT INTO messages
         (site, event_id, type, order_key, payload, source, origin, received_at, lane)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (site, event_id) DO NOTHING
       RETURNING seq`,
    ),
    countDuplicate: db.prepare(
      `UPDATE messages SET duplicates = duplicates + 1 WHERE site = ? AND event_id = ?`,
    ),
    upsertRejection: db.prepare(
      `INSERT INTO dead_letters (site, event_id, code, message, payload, payload_encoding,
         payload_size, source, origin, fingerprint, created_at, updated_at)
       VALUES (@site, @eventId, @code, @message, @payload, @encoding, @size, @source, @origin,
         @fingerprint, @at, @at)
       ON CONFLICT (fingerprint) DO UPDATE SET
         repeats = repeats + 1, updated_at = max(updated_at, excluded.updated_at)
       RETURNING id, repeats`,
    ),
    leaseCritical: db.prepare(LEASE_CRITICAL_SQL),
    lease: db.prepare(LEASE_SQL),
    settleDone: db.prepare(
      `UPDATE messages SET state = @state, ref = @ref, settled_at = @at, lease_until = NULL
       WHERE seq = @seq AND state = 'leased' AND lease_owner = @owner`,
    ),
    settleRetry: db.prepare(
      `UPDATE messages SET state = 'pending', next_attempt_at = @retryAt, lease_owner = NULL,
         lease_until = NULL, last_code = @code, last_message = @message
       WHERE seq = @seq AND state = 'leased' AND lease_owner = @owner`,
    ),
    leaseHolders: db.prepare(
      `SELECT DISTINCT lease_owner FROM messages
       WHERE state = 'leased' AND next_attempt_at > @now AND lease_owner IS NOT NULL`,
    ),
    expedite: db.prepare(
      `UPDATE messages SET state = 'pending', next_attempt_at = @now, lease_owner = NULL,
         lease_until = NULL
       WHERE state IN ('pending', 'leased') AND next_attempt_at > @now
         AND ((state = 'leased' AND lease_owner IN (SELECT value FROM json_each(@owners)))
           OR (state = 'pending' AND last_code IN (SELECT value FROM json_each(@codes))))
         AND (@sites IS NULL OR site IN (SELECT value FROM json_each(@sites)))`,
    ),
    shiftWaits: db.prepare(
      `UPDATE messages SET next_attempt_at = max(@now, next_attempt_at + @by),
         lease_until = CASE WHEN lease_until IS NULL THEN NULL
           ELSE max(@now, lease_until + @by) END
       WHERE state IN ('pending', 'leased') AND next_attempt_at > 0`,
    ),
    settleDead: db.prepare(
      `UPDATE messages SET state = 'dead', settled_at = @at, lease_until = NULL,
         last_code = @code, last_message = @message
       WHERE seq = @seq AND state = 'leased' AND lease_owner = @owner
       RETURNING site, event_id, payload, source, origin`,
    ),
    upsertInboxDeadLetter: db.prepare(
      `INSERT INTO dead_letters (site, event_id, code, message, payload, payload_encoding,
         payload_size, source, origin, fingerprint, in_inbox, created_at, updated_at)
       VALUES (@site, @eventId, @code, @message, @payload, 'utf8', @size, @source, @origin,
         @fingerprint, 1, @at, @at)
       ON CONFLICT (fingerprint) DO UPDATE SET
         state = 'open', code = excluded.code, message = excluded.message,
         payload = excluded.payload, payload_size = excluded.payload_size,
         repeats = repeats + 1, updated_at = excluded.updated_at`,
    ),
    getDeadLetter: db.prepare(`SELECT * FROM dead_letters WHERE id = ?`),
    messageState: db.prepare(`SELECT state FROM messages WHERE site = ? AND event_id = ?`),
    requeue: db.prepare(
      `UPDATE messages SET state = 'pending', attempts = 0, next_attempt_at = 0,
         lease_owner = NULL, lease_until = NULL, settled_at = NULL,
         payload = coalesce(@payload, payload), type = coalesce(@type, type),
         order_key = coalesce(@orderKey, order_key), lane = coalesce(@lane, lane)
       WHERE site = @site AND event_id = @eventId`,
    ),
    closeDeadLetter: db.prepare(
      `UPDATE dead_letters SET state = @state, note = @note, updated_at = @at WHERE id = @id`,
    ),
    sites: db.prepare(`SELECT site FROM sites ORDER BY site`),
    // without the hint SQLite walks the whole (site, event_id) index to group by site
    laneStats: db.prepare(
      `SELECT site, lane, count(*) AS pending, min(received_at) AS oldest
       FROM messages INDEXED BY messages_unsettled
       WHERE state IN ('pending', 'leased') GROUP BY site, lane`,
    ),
    heldStats: db.prepare(
      `SELECT site, count(*) AS held, min(next_attempt_at) AS until
       FROM messages INDEXED BY messages_waiting
       WHERE state IN ('pending', 'leased') AND next_attempt_at > 0
         AND state = 'pending' AND last_code = 'held'
       GROUP BY site`,
    ),
    deadStats: db.prepare(
      `SELECT site, count(*) AS dead FROM dead_letters WHERE state = 'open' GROUP BY site`,
    ),
    purgeMessages: db.prepare(
      `DELETE FROM messages WHERE seq IN (
         SELECT seq FROM messages m
         WHERE m.state IN ('applied', 'duplicate', 'dead') AND m.received_at < @before
           -- a dead event whose dead letter is still open stays replayable
           AND NOT (m.state = 'dead' AND EXISTS (
             SELECT 1 FROM dead_letters d
             WHERE d.in_inbox = 1 AND d.site = m.site AND d.event_id = m.event_id
               AND d.state = 'open'))
         ORDER BY seq LIMIT @batch)`,
    ),
    overBudget: db.prepare(
      `SELECT site, code, count(*) AS n FROM dead_letters INDEXED BY dead_letters_open_code
       WHERE state = 'open' GROUP BY site, code HAVING count(*) > @keep`,
    ),
    evictOldest: db.prepare(
      `DELETE FROM dead_letters WHERE id IN (
         SELECT id FROM dead_letters INDEXED BY dead_letters_open_code
         WHERE site = @site AND code = @code AND state = 'open' ORDER BY id LIMIT @n)`,
    ),
    countEviction: db.prepare(
      `INSERT INTO dead_letter_evictions (site, code, evicted, at) VALUES (@site, @code, @n, @at)
       ON CONFLICT (site, code) DO UPDATE SET
         evicted = evicted + excluded.evicted, at = excluded.at`,
    ),
    listEvictions: db.prepare(
      `SELECT site, code, evicted, at FROM dead_letter_evictions ORDER BY site, code`,
    ),
    purgeDeadLetters: db.prepare(
      `DELETE FROM dead_letters WHERE id IN (
         SELECT id FROM dead_letters
         WHERE state IN ('replayed', 'discarded') AND updated_at < @before
         ORDER BY id LIMIT @batch)`,
    ),
  };
}

/**
 * Leases the oldest ready rows whose key has no earlier row that is waiting (a retry not yet due,
 * a live lease): `blockers` holds the first such row per (site, key), and a candidate must come
 * before it. Taking candidates in seq order up to the limit then hands out, for every key, a
 * contiguous prefix of its unsettled rows. A ready row's key cannot be blocked by a row of another
 * site: `orderKeyOf` puts the site in every key, and keeping the scope explicit lets a `sites`
 * filter skip other sites without letting them block.
 */
const LEASE_SQL = `
  UPDATE messages
  SET state = 'leased', attempts = attempts + 1, lease_owner = @owner,
      lease_until = @until, next_attempt_at = @until
  WHERE seq IN (
    WITH blockers AS MATERIALIZED (
      SELECT site, order_key, min(seq) AS seq FROM messages
      WHERE state IN ('pending', 'leased') AND next_attempt_at > 0 AND next_attempt_at > @now
        -- the rows this lease's first pass took do not hold their keys back from the second
        AND NOT (state = 'leased' AND lease_owner = @owner AND next_attempt_at = @until)
      GROUP BY site, order_key
    )
    SELECT m.seq FROM messages m
    WHERE m.state IN ('pending', 'leased') AND m.next_attempt_at <= @now
      AND (@sites IS NULL OR m.site IN (SELECT value FROM json_each(@sites)))
      AND NOT EXISTS (
        SELECT 1 FROM blockers b
        WHERE b.site = m.site AND b.order_key = m.order_key AND b.seq < m.seq)
    ORDER BY m.seq
    LIMIT @limit)
  RETURNING *`;

/**
 * The lease's first pass (Store.lease): the keys with an unsettled critical event, and of each
 * the ready rows up to its last critical event, so a critical event takes the earlier bulk events
 * of its object along instead of overtaking them. The same blockers as LEASE_SQL apply, and
 * taking candidates in seq order again hands out a contiguous prefix of each key.
 */
const LEASE_CRITICAL_SQL = `
  UPDATE messages
  SET state = 'leased', attempts = attempts + 1, lease_owner = @owner,
      lease_until = @until, next_attempt_at = @until
  WHERE seq IN (
    WITH critical AS MATERIALIZED (
      SELECT site, order_key, max(seq) AS last FROM messages INDEXED BY messages_critical
      WHERE state IN ('pending', 'leased') AND lane = 'critical'
        AND (@sites IS NULL OR site IN (SELECT value FROM json_each(@sites)))
      GROUP BY site, order_key
    ),
    blockers AS MATERIALIZED (
      SELECT site, order_key, min(seq) AS seq FROM messages
      WHERE state IN ('pending', 'leased') AND next_attempt_at > 0 AND next_attempt_at > @now
        -- the rows this lease's first pass took do not hold their keys back from the second
        AND NOT (state = 'leased' AND lease_owner = @owner AND next_attempt_at = @until)
      GROUP BY site, order_key
    )
    SELECT m.seq FROM critical k
    JOIN messages m ON m.order_key = k.order_key AND m.site = k.site AND m.seq <= k.last
    WHERE m.state IN ('pending', 'leased') AND m.next_attempt_at <= @now
      AND NOT EXISTS (
        SELECT 1 FROM blockers b
        WHERE b.site = m.site AND b.order_key = m.order_key AND b.seq < m.seq)
    ORDER BY m.seq
    LIMIT @limit)
  RETURNING *`;
