-- The canonical outbox table that pgoutbox streams to Kafka. Safe to run more
-- than once. The application inserts one row per event in the same
-- transaction as its business change; pgoutbox publishes each committed
-- insert, in commit order, from the logical replication stream and never
-- reads the table itself, so rows may be deleted any time after commit (see
-- cleanup). Updates and deletes are not published.
--
-- Needs: PostgreSQL 13 or later (gen_random_uuid() is built in), and CREATE
-- on schema public. Create it as the role that will own it: that role (or a
-- superuser) creates the publication (sql/publication.sql).
CREATE TABLE IF NOT EXISTS public.outbox (
  -- Unique event id, sent as a Kafka header: delivery is at-least-once and
  -- consumers deduplicate on it.
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- Kind of entity the event is about (e.g. 'order'). Sent as a header, and
  -- names the topic with the default template outbox.event.{aggregate_type}.
  aggregate_type text NOT NULL,
  -- Id of that entity: the Kafka message key, so all events of one aggregate
  -- land on one partition and keep their order.
  aggregate_id text NOT NULL,
  -- What happened (e.g. 'OrderPlaced'); sent as a header.
  event_type text NOT NULL,
  -- Optional explicit destination topic for this row instead of the one
  -- rendered from the topic template.
  topic text,
  -- The message value, published as JSON text (PostgreSQL's normalised jsonb
  -- form).
  payload jsonb NOT NULL,
  -- Optional extra Kafka headers: a flat JSON object, one header per field.
  headers jsonb,
  -- When the row was written; cleanup deletes rows older than its retention.
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Lets cleanup find old rows without scanning the whole table.
CREATE INDEX IF NOT EXISTS outbox_created_at_idx ON public.outbox (created_at);
