/**
 * The PostgreSQL store's statements for one schema (`s`, already quoted). Batches travel as
 * arrays through `unnest`, so one statement with a fixed text (prepared once per connection)
 * writes a whole ingest or settle call: ARCHITECTURE.md "Measured ceilings" puts a 500-row
 * multi-insert at ~7x the rate of one row per statement.
 */
export function createSql(s: string) {
  return {
    addSites: `INSERT INTO ${s}.sites (site) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING`,

    /** Input order is seq order: `unnest` yields rows in array order and the identity follows. */
    insertMessages: `
      INSERT INTO ${s}.messages
        (site, event_id, type, order_key, payload, source, origin, received_at, lane)
      SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
        $6::text[], $7::text[], $8::bigint[], $9::text[])
      ON CONFLICT (site, event_id) DO NOTHING
      RETURNING seq, site, event_id`,

    countDuplicates: `
      UPDATE ${s}.messages m SET duplicates = m.duplicates + d.n
      FROM unnest($1::text[], $2::text[], $3::integer[]) AS d(site, event_id, n)
      WHERE m.site = d.site AND m.event_id = d.event_id`,

    /**
     * One row per fingerprint (the caller folds repeats within the call into `repeats`, as
     * `ON CONFLICT DO UPDATE` may not touch a row twice). `xmax = 0` tells an insert from an
     * update of an existing row.
     */
    upsertRejections: `
      INSERT INTO ${s}.dead_letters AS d (site, event_id, code, message, payload,
        payload_encoding, payload_size, source, origin, fingerprint, repeats, created_at,
        updated_at)
      SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
        $6::text[], $7::integer[], $8::text[], $9::text[], $10::text[], $11::integer[],
        $12::bigint[], $13::bigint[])
        AS r(site, event_id, code, message, payload, payload_encoding, payload_size, source,
          origin, fingerprint, repeats, created_at, updated_at)
      ON CONFLICT (fingerprint) DO UPDATE SET
        repeats = d.repeats + excluded.repeats + 1,
        updated_at = greatest(d.updated_at, excluded.updated_at)
      RETURNING id, fingerprint, (xmax = 0) AS inserted`,

    lease: leaseSql(s, "all"),
    leaseCritical: leaseSql(s, "critical"),

    settle: settleSql(s),

    deadLetterForUpdate: `SELECT * FROM ${s}.dead_letters WHERE id = $1 FOR UPDATE`,
    getDeadLetter: `SELECT * FROM ${s}.dead_letters WHERE id = $1`,
    messageStateForUpdate: `
      SELECT state FROM ${s}.messages WHERE site = $1 AND event_id = $2 FOR UPDATE`,
    requeue: `
      UPDATE ${s}.messages SET state = 'pending', attempts = 0, next_attempt_at = 0,
        lease_owner = NULL, lease_until = NULL, settled_at = NULL,
        payload = coalesce($3, payload), type = coalesce($4, type),
        order_key = coalesce($5, order_key), lane = coalesce($6, lane)
      WHERE site = $1 AND event_id = $2`,
    insertMessage: `
      INSERT INTO ${s}.messages
        (site, event_id, type, order_key, payload, source, origin, received_at, lane)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    leaseHolders: `
      SELECT DISTINCT lease_owner FROM ${s}.messages
      WHERE state = 'leased' AND next_attempt_at > $1 AND lease_owner IS NOT NULL`,
    expedite: `
      UPDATE ${s}.messages SET state = 'pending', next_attempt_at = $1, lease_owner = NULL,
        lease_until = NULL
      WHERE state IN ('pending', 'leased') AND next_attempt_at > $1
        AND ((state = 'leased' AND lease_owner = ANY ($2::text[]))
          OR (state = 'pending' AND last_code = ANY ($3::text[])))
        AND ($4::text[] IS NULL OR site = ANY ($4::text[]))`,
    shiftWaits: `
      UPDATE ${s}.messages SET next_attempt_at = greatest($2, next_attempt_at + $1),
        lease_until = CASE WHEN lease_until IS NULL THEN NULL
          ELSE greatest($2, lease_until + $1) END
      WHERE state IN ('pending', 'leased') AND next_attempt_at > 0`,
    closeDeadLetter: `
      UPDATE ${s}.dead_letters SET state = $2, note = $3, updated_at = $4 WHERE id = $1`,

    sites: `SELECT site FROM ${s}.sites ORDER BY site`,
    laneStats: `
      SELECT site, lane, count(*) AS pending, min(received_at) AS oldest FROM ${s}.messages
      WHERE state IN ('pending', 'leased') GROUP BY site, lane`,
    heldStats: `
      SELECT site, count(*) AS held, min(next_attempt_at) AS until FROM ${s}.messages
      WHERE state IN ('pending', 'leased') AND next_attempt_at > 0
        AND state = 'pending' AND last_code = 'held'
      GROUP BY site`,
    deadStats: `
      SELECT site, count(*)::int AS dead FROM ${s}.dead_letters WHERE state = 'open'
      GROUP BY site`,

    /**
     * One batch ($1 cut-off, $2 batch size, $3 last seq already scanned). Keyset paging: deleted
     * rows stay in the indexes until vacuum, so restarting from the oldest seq would walk all of
     * them again at every batch. The outer state condition is re-checked on the latest row
     * version when a concurrent replay moved a dead event back to pending: that row survives.
     */
    purgeMessages: `
      WITH batch AS (
        SELECT seq FROM ${s}.messages x
        WHERE x.seq > $3 AND x.state IN ('applied', 'duplicate', 'dead') AND x.received_at < $1
          -- a dead event whose dead letter is still open stays replayable
          AND NOT (x.state = 'dead' AND EXISTS (
            SELECT 1 FROM ${s}.dead_letters d
            WHERE d.in_inbox AND d.site = x.site AND d.event_id = x.event_id
              AND d.state = 'open'))
        ORDER BY seq LIMIT $2
      ),
      deleted AS (
        DELETE FROM ${s}.messages m USING batch b
        WHERE m.seq = b.seq AND m.state IN ('applied', 'duplicate', 'dead')
        RETURNING 1
      )
      SELECT (SELECT count(*) FROM deleted) AS deleted, (SELECT count(*) FROM batch) AS scanned,
        (SELECT max(seq) FROM batch) AS last`,
    overBudget: `
      SELECT site, code, count(*)::int AS n FROM ${s}.dead_letters
      WHERE state = 'open' GROUP BY site, code HAVING count(*) > $1`,
    /** Evicts the $3 oldest open dead letters of ($1 site, $2 code) and counts them ($4 now). */
    evictOldest: `
      WITH victims AS (
        SELECT id FROM ${s}.dead_letters
        WHERE site = $1 AND code = $2 AND state = 'open' ORDER BY id LIMIT $3
        FOR UPDATE SKIP LOCKED
      ),
      deleted AS (
        DELETE FROM ${s}.dead_letters d USING victims v WHERE d.id = v.id RETURNING 1
      ),
      counted AS (
        INSERT INTO ${s}.dead_letter_evictions (site, code, evicted, at)
        SELECT $1, $2, count(*), $4 FROM deleted HAVING count(*) > 0
        ON CONFLICT (site, code) DO UPDATE SET
          evicted = ${s}.dead_letter_evictions.evicted + excluded.evicted, at = excluded.at
      )
      SELECT (SELECT count(*)::int FROM deleted) AS evicted`,
    listEvictions: `
      SELECT site, code, evicted::int AS evicted, at::float8 AS at
      FROM ${s}.dead_letter_evictions ORDER BY site, code`,
    purgeDeadLetters: `
      WITH batch AS (
        SELECT id FROM ${s}.dead_letters
        WHERE id > $3 AND state IN ('replayed', 'discarded') AND updated_at < $1
        ORDER BY id LIMIT $2
      ),
      deleted AS (
        DELETE FROM ${s}.dead_letters d USING batch b
        WHERE d.id = b.id AND d.state IN ('replayed', 'discarded') AND d.updated_at < $1
        RETURNING 1
      )
      SELECT (SELECT count(*) FROM deleted) AS deleted, (SELECT count(*) FROM batch) AS scanned,
        (SELECT max(id) FROM batch) AS last`,
  };
}

/**
 * Leases in one statement ($1 owner, $2 now, $3 lease expiry, $4 limit, $5 sites or NULL).
 *
 * `blockers` / `candidates` pick the oldest ready rows whose key has no earlier waiting row (a
 * retry not yet due, a live lease), as in the SQLite store, and lock them `SKIP LOCKED` so
 * several sidecars share the queue. Skipping alone would split a key: while another worker's
 * lease is in flight its rows are locked (so skipped here) yet still read as pending, and the
 * next rows of the same key would be taken. `gaps` therefore finds, per key, the first
 * unsettled row before the last candidate that is not a candidate, and only candidates before
 * it are leased: what is leased is always a contiguous prefix of the key's unsettled rows. Any
 * row that is not ours (locked elsewhere, leased, waiting) reads as unsettled in this
 * statement's snapshot, so the check can only drop rows, never let one through early. Dropped
 * candidates stay untouched and are unlocked when the statement ends.
 *
 * `critical` is the lease's first pass (Store.lease): candidates are the ready rows of the keys
 * with an unsettled critical event, up to the key's last one, so a critical event takes the
 * earlier bulk events of its object along instead of overtaking them.
 */
function leaseSql(s: string, pass: "all" | "critical"): string {
  const from =
    pass === "all"
      ? `${s}.messages m
      WHERE m.state IN ('pending', 'leased') AND m.next_attempt_at <= $2
        AND ($5::text[] IS NULL OR m.site = ANY ($5::text[]))`
      : `critical k
      JOIN ${s}.messages m ON m.site = k.site AND m.order_key = k.order_key AND m.seq <= k.last
      WHERE m.state IN ('pending', 'leased') AND m.next_attempt_at <= $2`;
  const critical =
    pass === "all"
      ? ""
      : `critical AS MATERIALIZED (
      SELECT site, order_key, max(seq) AS last FROM ${s}.messages
      WHERE state IN ('pending', 'leased') AND lane = 'critical'
        AND ($5::text[] IS NULL OR site = ANY ($5::text[]))
      GROUP BY site, order_key
    ),`;
  return `
    WITH ${critical} blockers AS MATERIALIZED (
      SELECT site, order_key, min(seq) AS seq FROM ${s}.messages
      WHERE state IN ('pending', 'leased') AND next_attempt_at > 0 AND next_attempt_at > $2
        -- the rows this lease's first pass took do not hold their keys back from the second
        AND NOT (state = 'leased' AND lease_owner = $1 AND next_attempt_at = $3)
      GROUP BY site, order_key
    ),
    candidates AS MATERIALIZED (
      SELECT m.seq, m.site, m.order_key FROM ${from}
        AND NOT EXISTS (
          SELECT 1 FROM blockers b
          WHERE b.site = m.site AND b.order_key = m.order_key AND b.seq < m.seq)
      ORDER BY m.seq
      LIMIT $4
      FOR UPDATE OF m SKIP LOCKED
    ),
    keys AS (
      SELECT site, order_key, max(seq) AS last, array_agg(seq) AS seqs
      FROM candidates GROUP BY site, order_key
    ),
    gaps AS MATERIALIZED (
      SELECT k.site, k.order_key, (
        SELECT min(u.seq) FROM ${s}.messages u
        WHERE u.site = k.site AND u.order_key = k.order_key AND u.state IN ('pending', 'leased')
          AND u.seq < k.last AND u.seq <> ALL (k.seqs)
          AND NOT (u.state = 'leased' AND u.lease_owner = $1 AND u.next_attempt_at = $3)
      ) AS gap
      FROM keys k
    )
    UPDATE ${s}.messages m
    SET state = 'leased', attempts = m.attempts + 1, lease_owner = $1,
      lease_until = $3, next_attempt_at = $3
    FROM candidates c
    JOIN gaps g ON g.site = c.site AND g.order_key = c.order_key
    WHERE m.seq = c.seq AND (g.gap IS NULL OR c.seq < g.gap)
    RETURNING m.*`;
}

/**
 * Settles in one statement ($1 owner, then one array per outcome field). Only rows still leased
 * by the owner change; a rejected event becomes dead and (re)opens its dead letter, whose
 * fingerprint matches `inboxFingerprint` in common.ts.
 */
function settleSql(s: string): string {
  return `
    WITH outcome AS (
      SELECT * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[],
        $7::bigint[], $8::bigint[]) AS o(seq, status, ref, code, message, at, retry_at)
    ),
    settled AS (
      UPDATE ${s}.messages m SET
        state = CASE o.status WHEN 'retry' THEN 'pending' WHEN 'rejected' THEN 'dead'
          ELSE o.status END,
        ref = CASE WHEN o.status IN ('applied', 'duplicate') THEN o.ref ELSE m.ref END,
        settled_at = CASE WHEN o.status = 'retry' THEN NULL ELSE o.at END,
        next_attempt_at = CASE WHEN o.status = 'retry' THEN o.retry_at
          ELSE m.next_attempt_at END,
        lease_owner = CASE WHEN o.status = 'retry' THEN NULL ELSE m.lease_owner END,
        lease_until = NULL,
        last_code = CASE WHEN o.code IS NULL THEN m.last_code ELSE o.code END,
        last_message = CASE WHEN o.code IS NULL THEN m.last_message ELSE o.message END
      FROM outcome o
      WHERE m.seq = o.seq AND m.state = 'leased' AND m.lease_owner = $1
      RETURNING m.site, m.event_id, m.payload, m.source, m.origin,
        o.status, o.code, o.message, o.at
    )
    INSERT INTO ${s}.dead_letters AS d (site, event_id, code, message, payload,
      payload_encoding, payload_size, source, origin, fingerprint, in_inbox, created_at,
      updated_at)
    SELECT site, event_id, code, message, payload, 'utf8', octet_length(payload), source, origin,
      encode(sha256(convert_to('inbox', 'UTF8') || decode('00', 'hex')
        || convert_to(site, 'UTF8') || decode('00', 'hex') || convert_to(event_id, 'UTF8')),
        'hex'),
      true, at, at
    FROM settled WHERE status = 'rejected'
    ON CONFLICT (fingerprint) DO UPDATE SET
      state = 'open', code = excluded.code, message = excluded.message,
      payload = excluded.payload, payload_size = excluded.payload_size,
      repeats = d.repeats + 1, updated_at = excluded.updated_at`;
}
