// golden: elementwise (thread x4 points=32768 grid=32x256)
// add_1cd1eaa147ab: thread x4 points=32768 grid=32x256
// kernel k(b0:f32[32768] out, b1:f32[32768], b2:f32[32768], b3:f32[256]) {
//   for parallel i0_0 in 0..128 {
//     for i1_1 in 0..256 {
//       let v2:f32 = b1[add:i64(mul:i64(i0_0, 256), i1_1)]
//       let v3:f32 = b2[add:i64(mul:i64(i0_0, 256), i1_1)]
//       let t4:f32 = sigmoid:f32(v3)
//       let t5:f32 = mul:f32(v2, t4)
//       let v6:f32 = b3[i1_1]
//       let t7:f32 = add:f32(t5, v6)
//       b0[add:i64(mul:i64(i0_0, 256), i1_1)] = t7
//     }
//   }
// }

extern "C" __global__ void __launch_bounds__(256) add_1cd1eaa147ab_p0(float* __restrict__ b0, const float* __restrict__ b1, const float* __restrict__ b2, const float* __restrict__ b3) {
  for (pg_u32 pg_p = (pg_u32)blockIdx.x * 256u + threadIdx.x; pg_p < 8192u; pg_p += (pg_u32)gridDim.x * 256u) {
    const int i0_0 = (int)(pg_p / 64u);
    const int pg_base = (int)(pg_p % 64u) * 4;
    const PgVec<float, 4> pg_ld0 = pg_load_vec<float, 4>(b1 + (pg_base + i0_0 * 256));
    const PgVec<float, 4> pg_ld1 = pg_load_vec<float, 4>(b2 + (pg_base + i0_0 * 256));
    const PgVec<float, 4> pg_ld2 = pg_load_vec<float, 4>(b3 + (pg_base));
    PgVec<float, 4> pg_st0;
    #pragma unroll
    for (int pg_j = 0; pg_j < 4; ++pg_j) {
      const float v2 = pg_ld0.v[pg_j];
      const float v3 = pg_ld1.v[pg_j];
      const float t4 = (1.0f / (1.0f + expf(-v3)));
      const float t5 = (v2 * t4);
      const float v6 = pg_ld2.v[pg_j];
      const float t7 = (t5 + v6);
      pg_st0.v[pg_j] = t7;
    }
    pg_store_vec<float, 4>(b0 + (pg_base + i0_0 * 256), pg_st0);
  }
}
