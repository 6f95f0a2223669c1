// The shapes conv-direct.test.ts runs through the direct convolution (addon/src/conv_direct.cc): AlexNet's
// conv1-conv5 (torchvision) at batch 1 and odd ones (channels not a multiple of 16, half a 16-channel panel, rows wider than one
// register tile, a blocked nChw16c input from oneDNN, batch > 1, no ReLU).
export interface DirectCase { name: string; x: number[]; w: number[]; pad: number; stride?: number; relu: boolean; before?: number[] }

export const DIRECT_CASES: DirectCase[] = [
  { name: 'conv1 11x11 s4 3->64 224x224', x: [1, 3, 224, 224], w: [64, 3, 11, 11], pad: 2, stride: 4, relu: true },
  { name: 'conv2 5x5 64->192 27x27', x: [1, 64, 27, 27], w: [192, 64, 5, 5], pad: 2, relu: true },
  { name: 'conv3 3x3 192->384 13x13', x: [1, 192, 13, 13], w: [384, 192, 3, 3], pad: 1, relu: true },
  { name: 'conv4 3x3 384->256 13x13', x: [1, 384, 13, 13], w: [256, 384, 3, 3], pad: 1, relu: true },
  { name: 'conv5 3x3 256->256 13x13', x: [1, 256, 13, 13], w: [256, 256, 3, 3], pad: 1, relu: false },
  // 24 -> 40: three input blocks, two and a half panels (K % 16 == 8); rows of 31 take three tiles on AVX-512
  { name: '3x3 24->40 9x31, batch 2', x: [2, 24, 9, 31], w: [40, 24, 3, 3], pad: 1, relu: true },
  // K = 20: the last nChw8c block is half padding; 5x5 with pad 1 shrinks the output (7x5)
  { name: '5x5 pad 1 8->20 9x7', x: [1, 8, 9, 7], w: [20, 8, 5, 5], pad: 1, relu: false },
  // conv1's form at odd sizes: no padding, K = 40 (half a panel), rows of 7 and a batch of 2
  { name: '11x11 s4 3->40 35x39, batch 2', x: [2, 3, 35, 39], w: [40, 3, 11, 11], pad: 0, stride: 4, relu: false },
  // a conv ahead left to oneDNN (12 input channels): its output layout (nChw16c on AVX-512) is read as it is
  { name: '3x3 64->48 15x15 after a oneDNN conv', x: [1, 36, 15, 15], before: [64, 36, 3, 3], w: [48, 64, 3, 3], pad: 1, relu: true },
];
