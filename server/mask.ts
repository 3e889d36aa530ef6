/** How a phone number or an ID number is shown to someone who may not see all of it. */

/** A phone number as shown to someone who may not see it whole (the chat desk's rule: village roles only): the first 3 and last 4 digits. */
export function maskPhone(phone: string): string {
  return phone.length > 7 ? `${phone.slice(0, 3)}${'*'.repeat(phone.length - 7)}${phone.slice(-4)}` : '*'.repeat(phone.length);
}

/** An ID or disability-card number as shown to someone who may not see it whole: the first 6 and last 4 characters. */
export function maskIdNumber(id: string): string {
  return id.length > 10 ? `${id.slice(0, 6)}${'*'.repeat(id.length - 10)}${id.slice(-4)}` : id;
}
