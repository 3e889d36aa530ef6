-- CreateTable
CREATE TABLE "wecom_token" (
    "key" TEXT NOT NULL,
    "token_enc" BYTEA NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "fetched_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "wecom_token_pkey" PRIMARY KEY ("key")
);

-- CreateTable
CREATE TABLE "wecom_cursor" (
    "open_kfid" TEXT NOT NULL,
    "cursor" TEXT NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "wecom_cursor_pkey" PRIMARY KEY ("open_kfid")
);
