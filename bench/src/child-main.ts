// The child process of isolate.ts for the benchmark's own kernel cases.
import { kernelCases } from './cases.js';
import { serve } from './child.js';

serve(kernelCases);
