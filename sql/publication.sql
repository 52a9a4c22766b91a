-- The publication pgoutbox streams from: inserts into public.outbox only
-- (updates, deletes and truncates are never published, so cleaning up old rows
-- sends nothing). Safe to run more than once: it is created only if missing.
--
-- Needs: the table (sql/outbox.sql), and a role that owns it (or a
-- superuser): CREATE PUBLICATION ... FOR TABLE requires ownership, which is
-- why a DBA creates it here instead of granting ownership to pgoutbox's role.
-- pgoutbox run creates it the same way if it is missing, unless --no-create.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_publication WHERE pubname = 'pgoutbox') THEN
    CREATE PUBLICATION pgoutbox FOR TABLE public.outbox WITH (publish = 'insert');
  END IF;
END
$$;
