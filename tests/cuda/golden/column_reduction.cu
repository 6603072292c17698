// golden: column_reduction (block points=64 reduce=4096 grid=64x256)
// reduce_max_7eff88a324f9: block points=64 reduce=4096 grid=64x256
// kernel k(b0:f32[64] out, b1:f32[262144]) {
//   for parallel i1_0 in 0..64 {
//     acc acc1:f32 = -inf:f32
//     for r0_2 in 0..4096 {
//       let v3:f32 = b1[add:i64(mul:i64(r0_2, 64), i1_0)]
//       let t4:f32 = exp:f32(v3)
//       acc1 = max(acc1, t4)
//     }
//     b0[i1_0] = acc1
//   }
// }

extern "C" __global__ void __launch_bounds__(256) reduce_max_7eff88a324f9_p0(float* __restrict__ b0, const float* __restrict__ b1) {
  const int pg_lane = (int)threadIdx.x;
  const bool pg_leader = pg_lane == 0;
  for (pg_u32 pg_p = blockIdx.x; pg_p < 64u; pg_p += gridDim.x) {
    const int i1_0 = (int)(pg_p);
    float acc1 = (-__int_as_float(0x7f800000));
    {  // reduction of extent 4096 split across the block
      for (int pg_r = pg_lane; pg_r < 4096; pg_r += 256) {
        const int r0_2 = (int)((pg_u32)pg_r);
        const float v3 = b1[((r0_2 * 64) + i1_0)];
        const float t4 = expf(v3);
        acc1 = pg_fmax(acc1, t4);
      }
      acc1 = pg_block_reduce(acc1, PgMax());
    }
    if (pg_leader) b0[i1_0] = acc1;
  }
}
