// golden: scatter_add (thread x4 points=1600 grid=2x256; thread points=4096 grid=16x256)
// scatter_add_2ab897062667: thread x4 points=1600 grid=2x256; thread points=4096 grid=16x256
// kernel k(b0:f32[1600] out, b1:i64[128], b2:f32[4096]) {
//   for z0_0 in 0..1600 {
//     b0[z0_0] = 0:f32
//   }
//   for s0_1 in 0..8 {
//     for s1_2 in 0..16 {
//       for s2_3 in 0..32 {
//         let v4:i64 = b1[add:i64(mul:i64(s0_1, 16), s1_2)]
//         let v5:f32 = b2[add:i64(add:i64(mul:i64(s0_1, 512), mul:i64(s1_2, 32)), s2_3)]
//         let t6:f32 = mul:f32(v5, 2:f32)
//         b0[add:i64(mul:i64(min:i64(max:i64(v4, 0), 49), 32), s2_3)] += t6
//       }
//     }
//   }
// }

extern "C" __global__ void __launch_bounds__(256) scatter_add_2ab897062667_p0(float* __restrict__ b0, const long long* __restrict__ b1, const float* __restrict__ b2) {
  for (pg_u32 pg_p = (pg_u32)blockIdx.x * 256u + threadIdx.x; pg_p < 400u; pg_p += (pg_u32)gridDim.x * 256u) {
    const int pg_base = (int)(pg_p) * 4;
    PgVec<float, 4> pg_st0;
    #pragma unroll
    for (int pg_j = 0; pg_j < 4; ++pg_j) {
      pg_st0.v[pg_j] = 0.0f;
    }
    pg_store_vec<float, 4>(b0 + (pg_base), pg_st0);
  }
}

extern "C" __global__ void __launch_bounds__(256) scatter_add_2ab897062667_p1(float* __restrict__ b0, const long long* __restrict__ b1, const float* __restrict__ b2) {
  for (pg_u32 pg_p = (pg_u32)blockIdx.x * 256u + threadIdx.x; pg_p < 4096u; pg_p += (pg_u32)gridDim.x * 256u) {
    const int s0_1 = (int)(pg_p / 512u);
    const int s1_2 = (int)(pg_p / 32u % 16u);
    const int s2_3 = (int)(pg_p % 32u);
    const long long v4 = b1[((s0_1 * 16) + s1_2)];
    const float v5 = b2[(((s0_1 * 512) + (s1_2 * 32)) + s2_3)];
    const float t6 = (v5 * 2.0f);
    atomicAdd(&b0[((((int)(pg_imin<long long>(pg_imax<long long>(v4, 0LL), 49LL))) * 32) + s2_3)], t6);
  }
}
