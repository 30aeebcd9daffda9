-- AlterTable
ALTER TABLE "calls" ADD COLUMN "contact_id" TEXT;
ALTER TABLE "calls" ADD COLUMN "external_e164" TEXT;
ALTER TABLE "calls" ADD COLUMN "identification" TEXT;

-- CreateTable
CREATE TABLE "customers" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "inn" TEXT,
    "comment" TEXT,
    "source" TEXT NOT NULL DEFAULT '1c',
    "sync_run" TEXT,
    "created_at" BIGINT NOT NULL,
    "updated_at" BIGINT NOT NULL
);

-- CreateTable
CREATE TABLE "contact_persons" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "customer_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "position" TEXT,
    "updated_at" BIGINT NOT NULL,
    CONSTRAINT "contact_persons_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customers" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "customer_phones" (
    "owner_id" TEXT NOT NULL,
    "e164" TEXT NOT NULL,
    "extension" TEXT NOT NULL DEFAULT '',
    "customer_id" TEXT NOT NULL,
    "contact_id" TEXT,
    "kind" TEXT NOT NULL,
    "raw" TEXT NOT NULL,
    "created_at" BIGINT NOT NULL,

    PRIMARY KEY ("owner_id", "e164", "extension"),
    CONSTRAINT "customer_phones_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customers" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "event_log" (
    "id" BIGINT NOT NULL PRIMARY KEY,
    "key" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "call_id" TEXT,
    "employees" TEXT NOT NULL DEFAULT '',
    "payload" TEXT NOT NULL,
    "created_at" BIGINT NOT NULL
);

-- CreateTable
CREATE TABLE "webhooks" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "url" TEXT NOT NULL,
    "secret" TEXT NOT NULL,
    "employees" TEXT NOT NULL DEFAULT '',
    "types" TEXT NOT NULL DEFAULT '',
    "active" BOOLEAN NOT NULL DEFAULT true,
    "cursor" BIGINT NOT NULL DEFAULT 0,
    "failures" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" BIGINT,
    "last_error" TEXT,
    "delivered_at" BIGINT,
    "created_at" BIGINT NOT NULL
);

-- CreateIndex
CREATE INDEX "customers_sync_run_idx" ON "customers"("sync_run");

-- CreateIndex
CREATE INDEX "contact_persons_customer_id_idx" ON "contact_persons"("customer_id");

-- CreateIndex
CREATE INDEX "customer_phones_e164_idx" ON "customer_phones"("e164");

-- CreateIndex
CREATE INDEX "customer_phones_customer_id_idx" ON "customer_phones"("customer_id");

-- CreateIndex
CREATE UNIQUE INDEX "event_log_key_key" ON "event_log"("key");

-- CreateIndex
CREATE INDEX "event_log_type_id_idx" ON "event_log"("type", "id");

-- CreateIndex
CREATE INDEX "calls_external_e164_idx" ON "calls"("external_e164");

