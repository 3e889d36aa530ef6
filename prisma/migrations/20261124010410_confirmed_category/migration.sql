-- AlterTable
ALTER TABLE "lead" ADD COLUMN     "confirmed_category" TEXT;
