// golden: row_reduction (warp points=2048 reduce=512 grid=256x256)
// rsqrt_917a2a26eeab: warp points=2048 reduce=512 grid=256x256
// kernel k(b0:f32[2048] out, b1:f32[1048576]) {
//   for parallel i0_0 in 0..2048 {
//     acc acc1:f32 = 0:f32
//     for r0_2 in 0..512 {
//       let v3:f32 = b1[add:i64(mul:i64(i0_0, 512), r0_2)]
//       let t4:f32 = mul:f32(v3, v3)
//       acc1 = add(acc1, t4)
//     }
//     let t5:f32 = mul:f32(acc1, 0.001953125:f32)
//     let t6:f32 = add:f32(t5, 9.999999974752427e-07:f32)
//     let t7:f32 = rsqrt:f32(t6)
//     b0[i0_0] = t7
//   }
// }

extern "C" __global__ void __launch_bounds__(256) rsqrt_917a2a26eeab_p0(float* __restrict__ b0, const float* __restrict__ b1) {
  const int pg_lane = (int)(threadIdx.x & 31u);
  const bool pg_leader = pg_lane == 0;
  for (pg_u32 pg_p = (pg_u32)blockIdx.x * 8u + (threadIdx.x >> 5); pg_p < 2048u; pg_p += (pg_u32)gridDim.x * 8u) {
    const int i0_0 = (int)(pg_p);
    float acc1 = 0.0f;
    {  // reduction of extent 512 split across the warp
      for (int pg_r = pg_lane; pg_r < 512; pg_r += 32) {
        const int r0_2 = (int)((pg_u32)pg_r);
        const float v3 = b1[((i0_0 * 512) + r0_2)];
        const float t4 = (v3 * v3);
        acc1 = (acc1 + t4);
      }
      acc1 = pg_warp_reduce(acc1, PgSum());
    }
    const float t5 = (acc1 * 0.001953125f);
    const float t6 = (t5 + 1e-06f);
    const float t7 = (1.0f / sqrtf(t6));
    if (pg_leader) b0[i0_0] = t7;
  }
}
