-- AlterTable
ALTER TABLE "employees" ADD COLUMN     "login" TEXT,
ADD COLUMN     "password_hash" TEXT;

-- CreateTable
CREATE TABLE "panel_sessions" (
    "id_hash" TEXT NOT NULL,
    "employee" TEXT NOT NULL,
    "created_at" BIGINT NOT NULL,
    "last_seen_at" BIGINT NOT NULL,
    "expires_at" BIGINT NOT NULL,

    CONSTRAINT "panel_sessions_pkey" PRIMARY KEY ("id_hash")
);

-- CreateIndex
CREATE INDEX "panel_sessions_employee_idx" ON "panel_sessions"("employee");

-- CreateIndex
CREATE INDEX "panel_sessions_expires_at_idx" ON "panel_sessions"("expires_at");

-- CreateIndex
CREATE UNIQUE INDEX "employees_login_key" ON "employees"("login");

