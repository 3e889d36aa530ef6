-- AlterTable
ALTER TABLE "inbound_update" ADD COLUMN     "replies_sent" INTEGER NOT NULL DEFAULT 0;
