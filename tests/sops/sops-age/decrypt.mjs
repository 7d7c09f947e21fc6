// Decrypts a SOPS file with sops-age and prints the result as JSON.
// Usage: node decrypt.mjs FILE AGE_KEY_FILE
import { readFileSync } from "node:fs";
import { decryptSops } from "sops-age";

const [file, keyFile] = process.argv.slice(2);
const secretKey = readFileSync(keyFile, "utf8")
  .split("\n")
  .find((l) => l.startsWith("AGE-SECRET-KEY-"));
const result = await decryptSops({ path: file, secretKey });
process.stdout.write(JSON.stringify(result));
