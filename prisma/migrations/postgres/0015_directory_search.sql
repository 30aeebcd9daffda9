-- Hand-written (Prisma cannot express it): GET /directory/search finds customers by part of the name or
-- INN, contact persons by part of the name and phones by any run of digits: pg_trgm indexes serve
-- LIKE '%…%' on lower(name) (lower() folds Cyrillic under a UTF-8 locale), inn and e164.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX "customers_name_trgm_idx" ON "customers" USING gin (lower("name") gin_trgm_ops);
CREATE INDEX "customers_inn_trgm_idx" ON "customers" USING gin ("inn" gin_trgm_ops);
CREATE INDEX "contact_persons_name_trgm_idx" ON "contact_persons" USING gin (lower("name") gin_trgm_ops);
CREATE INDEX "customer_phones_e164_trgm_idx" ON "customer_phones" USING gin ("e164" gin_trgm_ops);
