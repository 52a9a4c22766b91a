-- Compose demo only: gives the pgoutbox role (sql/role.sql creates it without
-- a password) the password that docker/compose.yaml puts in PGOUTBOX_DB.
-- Never reuse it outside this throwaway stack.
ALTER ROLE pgoutbox PASSWORD 'pgoutbox';
