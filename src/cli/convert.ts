// alexnet convert IN OUT (or IN -o OUT): safetensors <-> ONNX, .pth -> either (and back), input detected by content;
// --dtype f16 writes half-float safetensors (half the download for the browser page).
import { readFile, stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { choice, VARIANTS } from './cli-opts.ts';
import { checkFile } from './errors.ts';
import type { Variant } from '../model/types.ts';
import type { MetaOverrides, WeightsFormat } from '../io/weights.ts';

/** One class name per line; "n01440764 tench, Tinca tinca" (synset lines) keeps the words after the id. */
export async function readLabels(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8');
  return text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean).map((l) => l.replace(/^n\d{8}\s+/, ''));
}

export interface ConvertOptions { format?: string; variant?: string; classes?: string; labels?: string; size?: string; softmax?: boolean; dtype?: string }

export async function convert(input: string, output: string, o: ConvertOptions): Promise<string> {
  // imported here, not at the top: `alexnet --help` and other commands start without the weight codecs
  const { CODECS, formatFromName, loadWeights, saveWeights } = await import('../io/weights.ts');
  const fmt = (o.format ?? formatFromName(output)) as WeightsFormat | undefined;
  if (!fmt || !CODECS.some((c) => c.format === fmt)) {
    throw new Error(`cannot tell the output format of ${output}; use an extension (.safetensors, .onnx, .pth) or --format safetensors|onnx|pth`);
  }
  const dtype = o.dtype === undefined || o.dtype === 'f32' ? 'F32' : o.dtype === 'f16' ? 'F16' : undefined;
  if (!dtype) throw new Error(`--dtype must be f32 or f16, got ${o.dtype}`);
  if (dtype !== 'F32' && fmt !== 'safetensors') throw new Error(`--dtype ${o.dtype} is for safetensors output; ${output} would be ${fmt}`);
  const over: MetaOverrides = {};
  if (o.variant !== undefined) over.variant = o.variant as Variant;
  if (o.classes !== undefined) {
    const c = Number(o.classes);
    if (!Number.isInteger(c) || c < 1) throw new Error(`--classes must be a positive integer, got ${o.classes}`);
    over.classes = c;
  }
  checkFile(input, 'weights file');
  if (o.labels) checkFile(o.labels, 'labels file');
  if (o.labels) over.classNames = await readLabels(o.labels);
  const { sd, meta, format, warnings } = await loadWeights(input, over);
  for (const w of warnings) console.error(`alexnet: warning: ${w}`);
  const size = o.size !== undefined ? Number(o.size) : undefined;
  if (size !== undefined && !(Number.isInteger(size) && size > 0)) throw new Error(`--size must be a positive integer, got ${o.size}`);
  // .pth carries tensors only: metadata (class names, preprocessing) is lost, say so.
  if (fmt === 'pth') console.error('alexnet: note: .pth holds only the state_dict; class names and preprocessing are not kept');
  await saveWeights(output, sd, meta, { format: fmt, size, softmax: o.softmax, dtype }); // the format registry's encoder, written atomically
  const mb = ((await stat(output)).size / 1e6).toFixed(1);
  const width = meta.widthScale ? `, widthScale ${meta.widthScale}` : '';
  return `${input} (${format}) -> ${output} (${fmt}${dtype === 'F16' ? ' f16' : ''}, ${mb} MB): ${meta.variant} AlexNet${width}, ${meta.classes} classes, input ${meta.preprocessing.crop}x${meta.preprocessing.crop}`;
}

export function declare(program: Command): Command {
  return program.command('convert')
    .description('convert weights between safetensors, PyTorch .pth and ONNX (input format detected by content)')
    .argument('<in>', 'weights: .safetensors, torchvision .pth state_dict, or .onnx')
    .argument('[out]', 'output file (or -o); format from its extension or --format');
}

export function configure(cmd: Command): void {
  cmd
    .addOption(choice('--format <fmt>', 'output format (default: from the output extension)', ['safetensors', 'onnx', 'pth']))
    .addOption(choice('--variant <v>', 'architecture (checked against the tensor shapes)', VARIANTS))
    .option('--classes <n>', 'class count (checked against classifier.6)')
    .option('--labels <file>', 'class names, one per line (synset lines "n01440764 tench" allowed)')
    .option('--size <px>', 'ONNX input side (default: the crop size in the metadata)')
    .option('--no-softmax', 'ONNX: only the logits output, no probabilities')
    .option('-o, --output <file>', 'output file (instead of the second argument)')
    .addOption(choice('--dtype <t>', 'safetensors tensor type: f16 halves the file (rounded to nearest; for the browser page)', ['f32', 'f16'], 'f32'))
    .action(async (input: string, out: string | undefined, o: ConvertOptions & { output?: string }) => {
      if (out !== undefined && o.output !== undefined && out !== o.output) throw new Error(`two output files given (${out} and -o ${o.output}); give one`);
      const output = out ?? o.output;
      if (output === undefined) throw new Error('missing the output file: alexnet convert IN OUT (or -o OUT)');
      console.log(await convert(input, output, o));
    });
}
