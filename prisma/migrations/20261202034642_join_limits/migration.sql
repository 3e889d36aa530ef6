-- AlterTable
ALTER TABLE "join_attempt" ADD COLUMN     "last_refused" BOOLEAN NOT NULL DEFAULT false;

-- CreateTable
CREATE TABLE "rate_window" (
    "key" TEXT NOT NULL,
    "window_start" TIMESTAMPTZ(3) NOT NULL,
    "count" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "rate_window_pkey" PRIMARY KEY ("key")
);
