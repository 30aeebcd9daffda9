-- Hand-written (Prisma cannot express it): GET /directory/search finds customers by part of the name or
-- INN, contact persons by part of the name and phones by any run of digits. Trigram FTS5 indexes over
-- the directory tables (external content, kept by triggers like calls_fts): MATCH on a trigram phrase is
-- a substring search that folds case for Cyrillic too (SQLite's LIKE and LOWER fold ASCII only). No
-- table is rebuilt: only virtual tables and triggers are added.
CREATE VIRTUAL TABLE "customers_fts" USING fts5("name", "inn", content='customers', content_rowid='rowid', tokenize='trigram');
CREATE TRIGGER "customers_fts_ai" AFTER INSERT ON "customers" BEGIN
  INSERT INTO "customers_fts"(rowid, "name", "inn") VALUES (new.rowid, new."name", new."inn");
END;
CREATE TRIGGER "customers_fts_ad" AFTER DELETE ON "customers" BEGIN
  INSERT INTO "customers_fts"("customers_fts", rowid, "name", "inn") VALUES ('delete', old.rowid, old."name", old."inn");
END;
CREATE TRIGGER "customers_fts_au" AFTER UPDATE OF "name", "inn" ON "customers"
  WHEN old."name" IS NOT new."name" OR old."inn" IS NOT new."inn" BEGIN
  INSERT INTO "customers_fts"("customers_fts", rowid, "name", "inn") VALUES ('delete', old.rowid, old."name", old."inn");
  INSERT INTO "customers_fts"(rowid, "name", "inn") VALUES (new.rowid, new."name", new."inn");
END;
INSERT INTO "customers_fts"("customers_fts") VALUES ('rebuild');

CREATE VIRTUAL TABLE "contact_persons_fts" USING fts5("name", content='contact_persons', content_rowid='rowid', tokenize='trigram');
CREATE TRIGGER "contact_persons_fts_ai" AFTER INSERT ON "contact_persons" BEGIN
  INSERT INTO "contact_persons_fts"(rowid, "name") VALUES (new.rowid, new."name");
END;
CREATE TRIGGER "contact_persons_fts_ad" AFTER DELETE ON "contact_persons" BEGIN
  INSERT INTO "contact_persons_fts"("contact_persons_fts", rowid, "name") VALUES ('delete', old.rowid, old."name");
END;
CREATE TRIGGER "contact_persons_fts_au" AFTER UPDATE OF "name" ON "contact_persons"
  WHEN old."name" IS NOT new."name" BEGIN
  INSERT INTO "contact_persons_fts"("contact_persons_fts", rowid, "name") VALUES ('delete', old.rowid, old."name");
  INSERT INTO "contact_persons_fts"(rowid, "name") VALUES (new.rowid, new."name");
END;
INSERT INTO "contact_persons_fts"("contact_persons_fts") VALUES ('rebuild');

CREATE VIRTUAL TABLE "customer_phones_fts" USING fts5("e164", content='customer_phones', content_rowid='rowid', tokenize='trigram');
CREATE TRIGGER "customer_phones_fts_ai" AFTER INSERT ON "customer_phones" BEGIN
  INSERT INTO "customer_phones_fts"(rowid, "e164") VALUES (new.rowid, new."e164");
END;
CREATE TRIGGER "customer_phones_fts_ad" AFTER DELETE ON "customer_phones" BEGIN
  INSERT INTO "customer_phones_fts"("customer_phones_fts", rowid, "e164") VALUES ('delete', old.rowid, old."e164");
END;
CREATE TRIGGER "customer_phones_fts_au" AFTER UPDATE OF "e164" ON "customer_phones"
  WHEN old."e164" IS NOT new."e164" BEGIN
  INSERT INTO "customer_phones_fts"("customer_phones_fts", rowid, "e164") VALUES ('delete', old.rowid, old."e164");
  INSERT INTO "customer_phones_fts"(rowid, "e164") VALUES (new.rowid, new."e164");
END;
INSERT INTO "customer_phones_fts"("customer_phones_fts") VALUES ('rebuild');
