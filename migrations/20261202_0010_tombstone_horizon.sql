-- Tombstones of deleted profiles are pruned once the count index that pruned them has applied them
-- (src/find/facets.ts). A count index elsewhere whose snapshot is older than this horizon could miss a
-- deletion: it sees the horizon and rebuilds instead.
ALTER TABLE bases ADD COLUMN tombstones_pruned xid8 NOT NULL DEFAULT '0';
