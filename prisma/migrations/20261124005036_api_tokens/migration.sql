-- DropIndex
DROP INDEX "lead_village_code_idx";

-- AlterTable
ALTER TABLE "lead" ADD COLUMN     "next_deadline_due" DATE,
ADD COLUMN     "next_deadline_kind" TEXT;

-- CreateTable
CREATE TABLE "api_token" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "scope_kind" TEXT NOT NULL,
    "scope_code" TEXT NOT NULL,
    "token_hash" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "api_token_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "access_log" (
    "id" BIGSERIAL NOT NULL,
    "token_id" UUID NOT NULL,
    "lead_id" UUID NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "action" TEXT NOT NULL,

    CONSTRAINT "access_log_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "api_token_token_hash_key" ON "api_token"("token_hash");

-- CreateIndex
CREATE INDEX "access_log_lead_id_idx" ON "access_log"("lead_id");

-- CreateIndex
CREATE INDEX "access_log_token_id_at_idx" ON "access_log"("token_id", "at");

-- CreateIndex
CREATE INDEX "lead_county_code_created_at_id_idx" ON "lead"("county_code", "created_at", "id");

-- CreateIndex
CREATE INDEX "lead_township_code_created_at_id_idx" ON "lead"("township_code", "created_at", "id");

-- CreateIndex
CREATE INDEX "lead_village_code_created_at_id_idx" ON "lead"("village_code", "created_at", "id");

-- CreateIndex
CREATE INDEX "lead_county_code_next_deadline_due_idx" ON "lead"("county_code", "next_deadline_due");
