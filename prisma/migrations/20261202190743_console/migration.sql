-- AlterTable
ALTER TABLE "access_log" ADD COLUMN     "via" TEXT;

-- AlterTable
ALTER TABLE "attachment" ADD COLUMN     "data_enc" BYTEA,
ADD COLUMN     "fetch_attempts" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "fetched_at" TIMESTAMPTZ(3),
ADD COLUMN     "mime" TEXT;

-- AlterTable
ALTER TABLE "lead" ADD COLUMN     "risks" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- CreateTable
CREATE TABLE "console_link" (
    "id" UUID NOT NULL,
    "token_hash" TEXT NOT NULL,
    "staff_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "used_at" TIMESTAMPTZ(3),

    CONSTRAINT "console_link_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "console_session" (
    "id" UUID NOT NULL,
    "token_hash" TEXT NOT NULL,
    "staff_id" UUID NOT NULL,
    "csrf" TEXT NOT NULL,
    "language" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL,
    "ended_at" TIMESTAMPTZ(3),

    CONSTRAINT "console_session_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "console_link_token_hash_key" ON "console_link"("token_hash");

-- CreateIndex
CREATE INDEX "console_link_staff_id_created_at_idx" ON "console_link"("staff_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "console_session_token_hash_key" ON "console_session"("token_hash");

-- CreateIndex
CREATE INDEX "console_session_staff_id_idx" ON "console_session"("staff_id");

-- CreateIndex
CREATE INDEX "lead_risks_idx" ON "lead" USING GIN ("risks");

-- Backfill: the hardships of the leads already received, from their answers.
UPDATE "lead" SET "risks" = ARRAY(SELECT jsonb_array_elements_text("answers"->'risks')) WHERE jsonb_typeof("answers"->'risks') = 'array';
