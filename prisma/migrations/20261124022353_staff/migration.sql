-- AlterTable
ALTER TABLE "lead" ADD COLUMN     "contact_staff_id" UUID,
ADD COLUMN     "follow_up_due" DATE,
ADD COLUMN     "follow_up_kind" TEXT,
ADD COLUMN     "risk_eliminated_on" DATE;

-- CreateTable
CREATE TABLE "staff" (
    "id" UUID NOT NULL,
    "role" TEXT NOT NULL,
    "place_code" TEXT NOT NULL,
    "county_code" TEXT NOT NULL,
    "name" TEXT,
    "channel" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "chat_id" TEXT NOT NULL,
    "language" TEXT NOT NULL DEFAULT 'zh-CN',
    "joined_at" TIMESTAMPTZ(3) NOT NULL,
    "removed_at" TIMESTAMPTZ(3),
    "unreachable_at" TIMESTAMPTZ(3),

    CONSTRAINT "staff_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "invite" (
    "id" UUID NOT NULL,
    "code_hash" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "place_code" TEXT NOT NULL,
    "name" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "used_at" TIMESTAMPTZ(3),
    "used_by" UUID,

    CONSTRAINT "invite_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "join_attempt" (
    "channel" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "failures" INTEGER NOT NULL DEFAULT 0,
    "last_failure" TIMESTAMPTZ(3) NOT NULL,
    "blocked_until" TIMESTAMPTZ(3),

    CONSTRAINT "join_attempt_pkey" PRIMARY KEY ("channel","user_id")
);

-- CreateTable
CREATE TABLE "reminder" (
    "key" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "staff_id" UUID NOT NULL,
    "lead_id" UUID,
    "campaign" TEXT,
    "due_on" DATE NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "reminder_pkey" PRIMARY KEY ("key")
);

-- CreateTable
CREATE TABLE "delivery" (
    "id" BIGSERIAL NOT NULL,
    "key" TEXT NOT NULL,
    "channel" TEXT NOT NULL,
    "chat_id" TEXT NOT NULL,
    "staff_id" UUID,
    "payload" BYTEA NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL,
    "locked_until" TIMESTAMPTZ(3),
    "last_error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "sent_at" TIMESTAMPTZ(3),

    CONSTRAINT "delivery_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "send_pace" (
    "channel" TEXT NOT NULL,
    "window_start" TIMESTAMPTZ(3) NOT NULL,
    "used" INTEGER NOT NULL DEFAULT 0,
    "paused_until" TIMESTAMPTZ(3),

    CONSTRAINT "send_pace_pkey" PRIMARY KEY ("channel")
);

-- CreateIndex
CREATE INDEX "staff_place_code_role_idx" ON "staff"("place_code", "role");

-- CreateIndex
CREATE UNIQUE INDEX "staff_channel_user_id_key" ON "staff"("channel", "user_id");

-- CreateIndex
CREATE UNIQUE INDEX "invite_code_hash_key" ON "invite"("code_hash");

-- CreateIndex
CREATE INDEX "reminder_lead_id_kind_due_on_idx" ON "reminder"("lead_id", "kind", "due_on");

-- CreateIndex
CREATE INDEX "reminder_staff_id_due_on_idx" ON "reminder"("staff_id", "due_on");

-- CreateIndex
CREATE UNIQUE INDEX "delivery_key_key" ON "delivery"("key");

-- CreateIndex
CREATE INDEX "delivery_state_next_attempt_at_idx" ON "delivery"("state", "next_attempt_at");

-- CreateIndex
CREATE INDEX "lead_next_deadline_due_idx" ON "lead"("next_deadline_due");

-- CreateIndex
CREATE INDEX "lead_follow_up_due_idx" ON "lead"("follow_up_due");

-- CreateIndex
CREATE INDEX "lead_contact_staff_id_idx" ON "lead"("contact_staff_id");
