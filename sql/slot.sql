-- The logical replication slot pgoutbox streams from, with the pgoutput
-- plugin. From the moment it exists PostgreSQL keeps the WAL it has not
-- confirmed, so create it shortly before pgoutbox first runs, and drop it
-- (SELECT pg_drop_replication_slot('pgoutbox')) if pgoutbox is retired, or
-- the server's disk fills up. Safe to run more than once: it is created only
-- if missing.
--
-- Needs: wal_level = logical, a free max_replication_slots entry, a superuser
-- or a role with REPLICATION, and a connection to the outbox's database (a
-- logical slot belongs to one database). Run it on its own, outside a
-- transaction block: creating a logical slot waits for every transaction
-- running at that moment to end, and fails in a transaction that has written.
--
-- On PostgreSQL 17 and later the slot is a failover slot: standbys with
-- sync_replication_slots = on keep a copy of it, and after a promotion
-- pgoutbox continues from that copy (see `pgoutbox setup` for the settings).
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_replication_slots WHERE slot_name = 'pgoutbox') THEN
    IF pg_catalog.current_setting('server_version_num')::int >= 170000 THEN
      PERFORM pg_catalog.pg_create_logical_replication_slot('pgoutbox', 'pgoutput',
                                                            failover => true);
    ELSE
      PERFORM pg_catalog.pg_create_logical_replication_slot('pgoutbox', 'pgoutput');
    END IF;
  END IF;
END
$$;
