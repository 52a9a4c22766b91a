-- The least-privilege role pgoutbox runs as: it may log in and open a
-- replication connection (LOGIN REPLICATION), read and delete outbox rows
-- (SELECT for status and for finding old rows, DELETE for cleanup), and use
-- the table's schema. Nothing else: it cannot insert into or update the
-- outbox, read other tables or create objects. Cleanup takes no row locks
-- (FOR UPDATE would need UPDATE); concurrent cleaners take turns with an
-- advisory lock, which needs no privilege. For a partitioned outbox, grant
-- SELECT, DELETE on each leaf partition too: cleanup deletes partition by
-- partition. Safe to run more than once: the role is created only if
-- missing, and granting a privilege it already has changes nothing.
--
-- Needs: the table (sql/outbox.sql), and a superuser (PostgreSQL 15 lets
-- only superusers create a role with REPLICATION).
--
-- The role is created without a password. Set one yourself, so it never
-- appears in a file:
--   ALTER ROLE pgoutbox PASSWORD 'choose-one';
-- (in psql, \password pgoutbox asks for it without echoing), or let
-- pg_hba.conf authenticate it another way (certificates, peer).
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pgoutbox') THEN
    CREATE ROLE pgoutbox LOGIN REPLICATION;
  END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO pgoutbox;

GRANT SELECT, DELETE ON public.outbox TO pgoutbox;
