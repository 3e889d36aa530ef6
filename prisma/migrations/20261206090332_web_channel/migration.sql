-- CreateTable
CREATE TABLE "web_screen" (
    "chat_id" TEXT NOT NULL,
    "seq" BIGINT NOT NULL,
    "replies" BYTEA NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "web_screen_pkey" PRIMARY KEY ("chat_id")
);

-- CreateTable
CREATE TABLE "web_upload" (
    "id" UUID NOT NULL,
    "chat_id" TEXT NOT NULL,
    "mime" TEXT NOT NULL,
    "data" BYTEA NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "web_upload_pkey" PRIMARY KEY ("id")
);

-- CreateTable
-- UNLOGGED: request counts are worth no disk sync (a crash forgets them, and the limits start again)
CREATE UNLOGGED TABLE "rate_limit" (
    "key" VARCHAR(255) NOT NULL,
    "points" INTEGER NOT NULL DEFAULT 0,
    "expire" BIGINT,

    CONSTRAINT "rate_limit_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE INDEX "web_screen_updated_at_idx" ON "web_screen"("updated_at");

-- CreateIndex
CREATE INDEX "web_upload_chat_id_idx" ON "web_upload"("chat_id");

-- CreateIndex
CREATE INDEX "web_upload_created_at_idx" ON "web_upload"("created_at");
