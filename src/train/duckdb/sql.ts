/**
 * The large-log ingestion as SQL: cleaning, per-user item sets, item–item co-occurrence with its top-k, and
 * popularity, as named statements run in order by ./ingest.ts. Every statement is set-based SQL over the tables made
 * by the ones before it — joins, GROUP BY, window functions, no loops and no user-defined functions — so memory is
 * bounded by the engine (it spills joins, aggregates, windows and sorts to disk) and the same statements could run on
 * a distributed SQL engine. DuckDB-specific are the readers (`readerSql`), `rowid` for the catalog's file order, and
 * a few scalar functions with direct equivalents elsewhere (epoch, regexp_full_match, TRY_CAST, isfinite, log2).
 *
 * Tables, in the order they are made:
 *   catalog_raw  the items file as read, in file order (rowid = file order)
 *   catalog      row (0-based, catalog order) · id · title · category · price · image_url
 *   staged       every interaction: user_id · item (catalog row or NULL) · ts (Unix s) · event (code) · value ·
 *                problem (NULL, or why the row is dropped)
 *   users        user_id → user (dense 0-based)
 *   events       the clean log: user · item · ts · event, exact duplicates removed
 *   user_items   (b) one row per distinct (user, item): first_ts · last_ts · events · held_out
 *   baskets      the training (user, item) pairs with the user's weight as fixed point
 *   item_norms   per item: norm = Σ weights of its users · users
 *   neighbors    (c) the top-k neighbours per item: i · j · sim · rank
 *   popularity   (d) per item: users · events · score (time-decayed, as src/train/popularity.ts)
 */
import { EVENT_TYPES } from '../../model/events.ts';

/** Input formats by file extension. */
export type InputFormat = 'csv' | 'parquet' | 'json';

export const SUPPORTED_EXTENSIONS = ['.csv', '.csv.gz', '.parquet', '.jsonl', '.ndjson', '.jsonl.gz', '.ndjson.gz'] as const;

export function formatOf(path: string): InputFormat | null {
  const name = path.toLowerCase();
  if (name.endsWith('.csv') || name.endsWith('.csv.gz')) return 'csv';
  if (name.endsWith('.parquet')) return 'parquet';
  if (/\.(jsonl|ndjson)(\.gz)?$/.test(name)) return 'json';
  return null;
}

/** A SQL string literal. */
export function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** A SQL identifier (column names come from the user's header). */
export function sqlIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A finite number as a SQL literal. */
function sqlNumber(n: number): string {
  if (!Number.isFinite(n)) throw new RangeError(`expected a finite number, found ${n}`);
  return String(n);
}

/**
 * The table function that reads a file. CSV is read as text (we parse and validate every field ourselves, as the
 * CSV reader of src/train/ingest.ts does): comma-separated, RFC 4180 quotes, a header, gzip recognised by the
 * extension, and the header's columns given explicitly (`csvHeader`) so that DuckDB does not sniff the dialect (a
 * malformed line is then reported by its number). Parquet and JSON Lines keep their own column types, which
 * `timestampSql` and `textSql` normalise.
 */
export function readerSql(path: string, format: InputFormat, csvHeader: readonly string[] = []): string {
  switch (format) {
    case 'csv': {
      const columns = csvHeader.length > 0 ? `, auto_detect = false, columns = {${csvHeader.map((c) => `${sqlString(c)}: 'VARCHAR'`).join(', ')}}` : ', all_varchar = true';
      return `read_csv(${sqlString(path)}, header = true, delim = ',', quote = '"', escape = '"'${columns})`;
    }
    case 'parquet':
      return `read_parquet(${sqlString(path)})`;
    case 'json':
      return `read_json(${sqlString(path)}, format = 'newline_delimited')`;
  }
}

/** The columns of a file as DuckDB sees them, for the header check and to choose each column's normalisation. */
export function describeSql(path: string, format: InputFormat, csvHeader: readonly string[] = []): string {
  return `DESCRIBE SELECT * FROM ${readerSql(path, format, csvHeader)}`;
}

const NUMERIC_TYPES = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL.*)$/;

/** A column as trimmed text, whatever its type; NULL becomes ''. */
export function textSql(column: string): string {
  return `coalesce(trim(CAST(${sqlIdent(column)} AS VARCHAR)), '')`;
}

/**
 * A timestamp column as Unix seconds (DOUBLE), NULL when it is not a timestamp. Same rules as `parseTimestamp` in
 * src/train/ingest.ts: a plain non-negative number is Unix seconds, or milliseconds when above 1e11; text starting
 * with YYYY-MM-DD is ISO-8601, in UTC unless it carries an offset (the session's TimeZone is UTC). Typed columns
 * (Parquet TIMESTAMP/DATE, JSON numbers) skip the text parsing.
 */
export function timestampSql(column: string, type: string): string {
  const c = sqlIdent(column);
  const upper = type.toUpperCase();
  if (upper.startsWith('TIMESTAMP') || upper === 'DATE') return `epoch(CAST(${c} AS TIMESTAMPTZ))`;
  if (NUMERIC_TYPES.test(upper)) {
    const n = `CAST(${c} AS DOUBLE)`;
    return `CASE WHEN ${n} > 1e11 THEN ${n} / 1000 WHEN ${n} >= 0 THEN ${n} END`;
  }
  const t = `trim(CAST(${c} AS VARCHAR))`;
  return `CASE
      WHEN regexp_full_match(${t}, '[0-9]+(\\.[0-9]+)?') THEN
        CASE WHEN CAST(${t} AS DOUBLE) > 1e11 THEN CAST(${t} AS DOUBLE) / 1000 ELSE CAST(${t} AS DOUBLE) END
      WHEN regexp_matches(${t}, '^[0-9]{4}-[0-9]{2}-[0-9]{2}') THEN epoch(TRY_CAST(${t} AS TIMESTAMPTZ))
    END`;
}

/** Event codes: the position in EVENT_TYPES (view=0 … rating=4). */
export const EVENT_CODES: Readonly<Record<string, number>> = Object.fromEntries(EVENT_TYPES.map((e, i) => [e, i]));

/** An optional event column as its code; an absent column or empty field means purchase; unknown text → NULL. */
export function eventSql(column: string | null): string {
  const purchase = EVENT_CODES.purchase!;
  if (column === null) return String(purchase);
  const e = `lower(${textSql(column)})`;
  return `CASE ${e} WHEN '' THEN ${purchase} ${EVENT_TYPES.map((name, i) => `WHEN ${sqlString(name)} THEN ${i}`).join(' ')} END`;
}

/** Reasons a row of the interactions file is dropped, in the order they are checked (the first that applies counts). */
export const DROP_REASONS = ['empty_user_id', 'empty_item_id', 'bad_timestamp', 'unknown_event', 'bad_value', 'unknown_item'] as const;
export type DropReason = (typeof DROP_REASONS)[number] | 'duplicate';

/** Which columns of the interactions file hold what, and their DuckDB types (from `describeSql`). */
export interface InteractionColumns {
  user_id: string;
  item_id: string;
  timestamp: { name: string; type: string };
  event: string | null;
  value: string | null;
}

/** Which columns of the items file hold what; only item_id and title are required. */
export interface ItemColumns {
  item_id: string;
  title: string;
  category: string | null;
  price: string | null;
  image_url: string | null;
}

// ---------------------------------------------------------------------------------------------------------------
// (a) load and clean
// ---------------------------------------------------------------------------------------------------------------

/** (a1) The catalog as read, in file order: DuckDB keeps insertion order here, so `rowid` is the file order. */
export function loadCatalogRawSql(path: string, format: InputFormat, csvHeader: readonly string[] = []): string {
  return `CREATE OR REPLACE TABLE catalog_raw AS SELECT * FROM ${readerSql(path, format, csvHeader)}`;
}

/** (a2) The catalog with dense rows in file order; fields trimmed, empty optional fields NULL. */
export function catalogSql(columns: ItemColumns): string {
  const optional = (column: string | null) => (column === null ? 'CAST(NULL AS VARCHAR)' : `nullif(${textSql(column)}, '')`);
  return `CREATE OR REPLACE TABLE catalog AS
    SELECT CAST(rowid AS INTEGER) AS row,
           ${textSql(columns.item_id)} AS id,
           ${textSql(columns.title)} AS title,
           ${optional(columns.category)} AS category,
           ${optional(columns.price)} AS price,
           ${optional(columns.image_url)} AS image_url
    FROM catalog_raw`;
}

/**
 * (a3) The first catalog row breaking each rule of src/train/ingest.ts `readItems` (at most one row per rule), so
 * the error names the file, the row and what was expected.
 */
export const CATALOG_PROBLEMS_SQL = `
  SELECT problem, row, value FROM (
    SELECT problem, row, value, row_number() OVER (PARTITION BY problem ORDER BY row) AS nth FROM (
    SELECT 'a non-empty item_id' AS problem, row, id AS value FROM catalog WHERE id = ''
    UNION ALL
    SELECT 'a unique item_id', row, id FROM (
      SELECT row, id, row_number() OVER (PARTITION BY id ORDER BY row) AS seen FROM catalog WHERE id <> ''
    ) WHERE seen = 2
    UNION ALL
    SELECT 'price as a number ≥ 0', row, price FROM catalog
      WHERE price IS NOT NULL AND (TRY_CAST(price AS DOUBLE) IS NULL OR NOT isfinite(TRY_CAST(price AS DOUBLE)) OR TRY_CAST(price AS DOUBLE) < 0)
    UNION ALL
    SELECT 'image_url as an http(s) URL or a path', row, image_url FROM catalog
      WHERE image_url IS NOT NULL AND NOT regexp_matches(image_url, '^(https?://|/)')
    )
  ) WHERE nth = 1
  ORDER BY row`;

/** (a3) The catalog in order, for the returned item list. */
export const CATALOG_ITEMS_SQL = `SELECT id, title, category, TRY_CAST(price AS DOUBLE) AS price, image_url FROM catalog ORDER BY row`;

/**
 * (a4) Every interaction, typed and classified: `problem` is NULL for a usable row, or the first reason in
 * DROP_REASONS that applies. Item ids are looked up in the catalog here (a hash join on a small table).
 */
export function stageInteractionsSql(path: string, format: InputFormat, columns: InteractionColumns, csvHeader: readonly string[] = []): string {
  const value = columns.value === null ? 'CAST(NULL AS VARCHAR)' : textSql(columns.value);
  return `CREATE OR REPLACE TABLE staged AS
    WITH raw AS (
      SELECT ${textSql(columns.user_id)} AS user_id,
             ${textSql(columns.item_id)} AS item_id,
             ${timestampSql(columns.timestamp.name, columns.timestamp.type)} AS ts,
             ${eventSql(columns.event)} AS event,
             ${value} AS value_text
      FROM ${readerSql(path, format, csvHeader)}
    ), typed AS (
      SELECT raw.user_id, catalog.row AS item, raw.ts, CAST(raw.event AS UTINYINT) AS event,
             TRY_CAST(nullif(raw.value_text, '') AS DOUBLE) AS value,
             CASE
               WHEN raw.user_id = '' THEN 'empty_user_id'
               WHEN raw.item_id = '' THEN 'empty_item_id'
               WHEN raw.ts IS NULL OR NOT isfinite(raw.ts) THEN 'bad_timestamp'
               WHEN raw.event IS NULL THEN 'unknown_event'
               WHEN coalesce(raw.value_text, '') <> ''
                    AND (TRY_CAST(raw.value_text AS DOUBLE) IS NULL OR NOT isfinite(TRY_CAST(raw.value_text AS DOUBLE))) THEN 'bad_value'
               WHEN catalog.row IS NULL THEN 'unknown_item'
             END AS problem
      FROM raw LEFT JOIN catalog ON catalog.id = raw.item_id
    )
    SELECT * FROM typed`;
}

/** (a5) How many rows each reason dropped, and how many were usable (problem NULL). */
export const DROP_COUNTS_SQL = `SELECT problem, count(*) AS rows FROM staged GROUP BY problem`;

/**
 * (a6) Dense user ids. Ordered by the id text, which any engine can do in parallel (the file order of first
 * appearance, which src/train/ingest.ts uses, needs a sequential scan); user numbering changes no result.
 */
export const USERS_SQL = `CREATE OR REPLACE TABLE users AS
  SELECT user_id, CAST(row_number() OVER (ORDER BY user_id) - 1 AS INTEGER) AS "user"
  FROM (SELECT DISTINCT user_id FROM staged WHERE problem IS NULL)`;

/** (a7) The clean log: usable rows with dense users, exact duplicates (same user, item, time, event, value) kept once. */
export const EVENTS_SQL = `CREATE OR REPLACE TABLE events AS
  SELECT "user", item, ts, event
  FROM (
    SELECT DISTINCT u."user", s.item, s.ts, s.event, s.value
    FROM staged s JOIN users u USING (user_id)
    WHERE s.problem IS NULL
  )`;

// ---------------------------------------------------------------------------------------------------------------
// (b) per-user distinct item sets
// ---------------------------------------------------------------------------------------------------------------

/**
 * (b1) One row per distinct (user, item), with the first and last time and the number of events.
 * `holdOut = 'leave-last-out'` marks the items that src/eval/split.ts `leaveLastOut` holds out: for a user with at
 * least three distinct items, the two whose first interaction is latest (validation and test). Ties in first time
 * are broken by catalog row here, the higher row counting as later (leaveLastOut uses file order). Held-out items
 * are excluded from (b2), (c) and (d), as the trainer fits on training events only.
 */
export function userItemsSql(holdOut: 'none' | 'leave-last-out'): string {
  const pairs = `SELECT "user", item, min(ts) AS first_ts, max(ts) AS last_ts, count(*) AS events FROM events GROUP BY "user", item`;
  if (holdOut === 'none') return `CREATE OR REPLACE TABLE user_items AS SELECT *, false AS held_out FROM (${pairs})`;
  return `CREATE OR REPLACE TABLE user_items AS
    SELECT "user", item, first_ts, last_ts, events, distinct_items >= 3 AND from_end <= 2 AS held_out
    FROM (
      SELECT "user", item, first_ts, last_ts, events,
             row_number() OVER (PARTITION BY "user" ORDER BY first_ts DESC, item DESC) AS from_end,
             count(*) OVER (PARTITION BY "user") AS distinct_items
      FROM (${pairs})
    )`;
}

/**
 * Fixed-point scale of user weights. Weights are summed as integers (each rounded to 2^-30, an error below 1e-8 in
 * any similarity) so that sums are exact and independent of the order in which threads or machines add them: the
 * similarities, and so the top-k order with its ties, are the same on every run and every engine. A weight fits an
 * INTEGER (≤ 2^30/log2(3) < 2^31), which engines sum in a 64-bit accumulator (about twice as fast as a DOUBLE or
 * 128-bit sum here); the sum stays exact for up to ~10^10 users per item.
 */
export const WEIGHT_SCALE = 2 ** 30;

/**
 * (b2) The training baskets with each user's weight 1/log2(2 + |items of user|) (src/train/item-knn.ts), as fixed
 * point: a user with many items counts less, so that wholesalers do not dominate.
 */
export const BASKETS_SQL = `CREATE OR REPLACE TABLE baskets AS
  SELECT ui."user", ui.item, w.weight
  FROM user_items ui
  JOIN (
    SELECT "user", CAST(round(${WEIGHT_SCALE} / log2(2 + count(*))) AS INTEGER) AS weight
    FROM user_items WHERE NOT held_out GROUP BY "user"
  ) w USING ("user")
  WHERE NOT ui.held_out`;

/** (b3) Per item, the cosine norm n_i = Σ weights of the users who have it (fixed point) and how many users. */
export const ITEM_NORMS_SQL = `CREATE OR REPLACE TABLE item_norms AS
  SELECT item, sum(weight) AS norm, count(*) AS users FROM baskets GROUP BY item`;

// ---------------------------------------------------------------------------------------------------------------
// (c) item–item co-occurrence and top-k
// ---------------------------------------------------------------------------------------------------------------

export interface CooccurrenceOptions {
  k: number;
  shrink: number;
  minSupport: number;
}

/**
 * (c) s(i,j) = c_ij / (sqrt(n_i · n_j) + shrink), c_ij = Σ over users having both of the user's weight, kept when at
 * least `minSupport` distinct users have both; then the k most similar j per i (ties: lower row first), as
 * src/train/item-knn.ts. (Its float sums may order two mathematically equal similarities by their last bit; the
 * fixed-point sums here make them equal, and the lower row wins.) The self-join runs over unordered pairs (i < j)
 * only, since c and s are symmetric, and the pairs are mirrored after the aggregate: half the join and aggregate
 * work of the ordered form. Only the top-k rows per item leave the statement (row_number() over a window).
 */
export function cooccurrenceSql(options: CooccurrenceOptions): string {
  const scale = sqlNumber(WEIGHT_SCALE);
  return `CREATE OR REPLACE TABLE neighbors AS
    WITH pairs AS (
      SELECT a.item AS i, b.item AS j, sum(a.weight) AS c, count(*) AS support
      FROM baskets a JOIN baskets b ON a."user" = b."user" AND a.item < b.item
      GROUP BY a.item, b.item
      HAVING count(*) >= ${sqlNumber(options.minSupport)}
    ), scored AS (
      SELECT p.i, p.j,
             (CAST(p.c AS DOUBLE) / ${scale})
               / (sqrt((CAST(ni.norm AS DOUBLE) / ${scale}) * (CAST(nj.norm AS DOUBLE) / ${scale})) + ${sqlNumber(options.shrink)}) AS sim
      FROM pairs p JOIN item_norms ni ON ni.item = p.i JOIN item_norms nj ON nj.item = p.j
    ), both_ways AS (
      SELECT i, j, sim FROM scored
      UNION ALL
      SELECT j AS i, i AS j, sim FROM scored
    ), ranked AS (
      SELECT i, j, sim, row_number() OVER (PARTITION BY i ORDER BY sim DESC, j ASC) AS rank FROM both_ways
    )
    SELECT CAST(i AS INTEGER) AS i, CAST(j AS INTEGER) AS j, sim, CAST(rank AS INTEGER) AS rank
    FROM ranked WHERE rank <= ${sqlNumber(options.k)}`;
}

/** (c) The neighbour rows, streamed to the caller in item order. */
export const NEIGHBORS_SQL = `SELECT i, j, sim FROM neighbors ORDER BY i, rank`;

// ---------------------------------------------------------------------------------------------------------------
// (d) popularity
// ---------------------------------------------------------------------------------------------------------------

/**
 * (d) Per item over the training pairs: distinct users, events, and the time-decayed score of
 * src/train/popularity.ts (each distinct (user, item) counts exp(-age/τ) at its latest training event, τ from the
 * half-life, age from the latest training event of the whole log), normalised so the top item is 1.
 */
export function popularitySql(halfLifeDays: number): string {
  const tau = (halfLifeDays * 86400) / Math.LN2;
  const decay = Number.isFinite(tau) ? `exp(-(now.ts - ui.last_ts) / ${sqlNumber(tau)})` : '1.0';
  return `CREATE OR REPLACE TABLE popularity AS
    WITH now AS (SELECT max(last_ts) AS ts FROM user_items WHERE NOT held_out),
    raw AS (
      SELECT ui.item, count(*) AS users, sum(ui.events) AS events, sum(${decay}) AS score
      FROM user_items ui, now WHERE NOT ui.held_out GROUP BY ui.item
    )
    SELECT item, users, events, CASE WHEN max(score) OVER () > 0 THEN score / max(score) OVER () ELSE 0 END AS score
    FROM raw`;
}

export const POPULARITY_SQL = `SELECT item, users, events, score FROM popularity`;

/** Counts for the report. */
export const COUNTS_SQL = `SELECT
  (SELECT count(*) FROM users) AS users,
  (SELECT count(*) FROM events) AS interactions,
  (SELECT count(*) FROM user_items) AS user_items,
  (SELECT count(*) FROM baskets) AS training_pairs,
  (SELECT count(*) FROM neighbors) AS neighbor_rows`;

/** DuckDB's own memory: bytes held in memory and spilled to the temp directory, by all its components. */
export const DUCKDB_MEMORY_SQL = `SELECT sum(memory_usage_bytes) AS memory, sum(temporary_storage_bytes) AS temporary FROM duckdb_memory()`;
