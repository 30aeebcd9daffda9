-- CreateTable
CREATE TABLE "employees" (
    "extension" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "user_ref" TEXT,
    "groups" TEXT NOT NULL DEFAULT '[]',
    "rights" TEXT NOT NULL DEFAULT '[]',
    "sync_run" TEXT,
    "created_at" BIGINT NOT NULL,
    "updated_at" BIGINT NOT NULL,

    CONSTRAINT "employees_pkey" PRIMARY KEY ("extension")
);

-- CreateTable
CREATE TABLE "employee_groups" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "rights" TEXT NOT NULL DEFAULT '[]',
    "updated_at" BIGINT NOT NULL,

    CONSTRAINT "employee_groups_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "employee_presence" (
    "extension" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "reason" TEXT,
    "since" BIGINT NOT NULL,

    CONSTRAINT "employee_presence_pkey" PRIMARY KEY ("extension")
);

-- CreateIndex
CREATE INDEX "employees_user_ref_idx" ON "employees"("user_ref");

