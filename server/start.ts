// Entry point of `npm start`.
import { main } from './main.ts';

void main();
