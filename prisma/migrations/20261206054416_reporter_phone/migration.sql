-- AlterTable
ALTER TABLE "lead" ADD COLUMN     "reporter_phone_enc" BYTEA;
