-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_webhooks" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "url" TEXT NOT NULL,
    "secret" TEXT NOT NULL,
    "employees" TEXT NOT NULL DEFAULT '',
    "types" TEXT NOT NULL DEFAULT '',
    "basic_user" TEXT,
    "basic_password" TEXT,
    "headers" TEXT NOT NULL DEFAULT '',
    "active" BOOLEAN NOT NULL DEFAULT true,
    "cursor" BIGINT NOT NULL DEFAULT 0,
    "failures" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" BIGINT,
    "last_error" TEXT,
    "delivered_at" BIGINT,
    "created_at" BIGINT NOT NULL
);
INSERT INTO "new_webhooks" ("active", "created_at", "cursor", "delivered_at", "employees", "failures", "id", "last_error", "next_attempt_at", "secret", "types", "url") SELECT "active", "created_at", "cursor", "delivered_at", "employees", "failures", "id", "last_error", "next_attempt_at", "secret", "types", "url" FROM "webhooks";
DROP TABLE "webhooks";
ALTER TABLE "new_webhooks" RENAME TO "webhooks";
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

