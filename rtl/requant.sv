// requant.sv -- one output lane of a dense layer's epilogue, bit-exact to the emulator.
//
// Computes, for one output j (see codesign/emulator.py dense_kernel and codesign/fixed.py):
//   t   = ((dot << shift_j) << PS) + (bias_j << BS)       exact, in W bits
//   a   = overflow(t, accum type)                         WRAP / SAT / SAT_SYM to ACC_W bits
//   a   = RELU ? max(a, 0) : a
//   r   = OS > 0 ? shift_round(a, OS, RND) : a << -OS      ap_fixed rounding mode
//   y   = overflow(r, output type)                        WRAP / SAT / SAT_SYM to OUT_W bits
// Why one lane per module: the MVAU instantiates PE of them; keeping the arithmetic here, purely
// combinational, lets a unit bench sweep every rounding/overflow mode without the engine around it.
// All widths are chosen by the generator (codesign/rtl) so that t cannot overflow W bits.
// Rounding codes: 0 TRN, 1 TRN_ZERO, 2 RND, 3 RND_ZERO, 4 RND_INF, 5 RND_MIN_INF, 6 RND_CONV.
// Overflow codes: 0 WRAP, 1 SAT, 2 SAT_SYM.
module requant #(
    parameter int DOT_W = 20,       // signed dot product (x @ W column) width
    parameter int SH_W = 1,         // weight_shift width (unsigned)
    parameter int B_W = 2,          // bias width (signed, already sign-extended by the generator)
    parameter int PS = 0,           // accum.frac - product.frac (>= 0)
    parameter int BS = 0,           // accum.frac - bias.frac (>= 0)
    parameter int W = 40,           // internal exact width (> every intermediate)
    parameter int ACC_W = 32,
    parameter int ACC_SIGNED = 1,
    parameter int ACC_OVF = 0,
    parameter int RELU = 0,
    parameter int OS = 0,           // accum.frac - output.frac: > 0 round right, < 0 shift left
    parameter int RND = 0,
    parameter int OUT_W = 8,
    parameter int OUT_SIGNED = 0,
    parameter int OUT_OVF = 1
) (
    input  logic signed [DOT_W-1:0] dot,
    input  logic        [SH_W-1:0]  shift,
    input  logic signed [B_W-1:0]   bias,
    output logic        [OUT_W-1:0] y
);
    typedef logic signed [W-1:0] wide_t;

    // integer range of an accumulator / output type, as W-bit signed constants
    function automatic wide_t tmax(input int width, input int signed_);
        wide_t one = wide_t'(1);
        return signed_ != 0 ? (one <<< (width - 1)) - one : (one <<< width) - one;
    endfunction
    function automatic wide_t tmin(input int width, input int signed_, input int ovf);
        wide_t one = wide_t'(1);
        if (signed_ == 0) return '0;
        if (ovf == 2) return -tmax(width, signed_);        // SAT_SYM: symmetric range
        return -(one <<< (width - 1));
    endfunction
    // bring v into a type's range: WRAP keeps the low bits, SAT/SAT_SYM clip
    function automatic wide_t ovf_fn(input wide_t v, input int width, input int signed_, input int ovf);
        wide_t hi = tmax(width, signed_);
        wide_t lo = tmin(width, signed_, ovf);
        wide_t mask = (wide_t'(1) <<< width) - wide_t'(1);
        wide_t low;
        if (ovf == 0) begin
            low = v & mask;
            if (signed_ != 0 && low > hi) low = low - (wide_t'(1) <<< width);
            return low;
        end
        if (v > hi) return hi;
        if (v < lo) return lo;
        return v;
    endfunction

    wide_t t, a, r;
    wide_t floor_v;
    logic half, below, neg, inc;

    always_comb begin
        t = wide_t'(dot);
        t = (t <<< shift) <<< PS;
        t = t + (wide_t'(bias) <<< BS);
        a = ovf_fn(t, ACC_W, ACC_SIGNED, ACC_OVF);
        if (RELU != 0 && a < 0) a = '0;
        floor_v = a;
        half = 1'b0;
        below = 1'b0;
        neg = a < 0;
        inc = 1'b0;
        if (OS > 0) begin
            floor_v = a >>> OS;
            half = a[(OS > 0 ? OS - 1 : 0)];
            below = (a & ((wide_t'(1) <<< (OS > 0 ? OS - 1 : 0)) - wide_t'(1))) != '0;
            case (RND)
                1: inc = neg & (half | below);                       // TRN_ZERO
                2: inc = half;                                       // RND
                3: inc = half & (below | neg);                       // RND_ZERO
                4: inc = half & (below | ~neg);                      // RND_INF
                5: inc = half & below;                               // RND_MIN_INF
                6: inc = half & (below | floor_v[0]);                // RND_CONV
                default: inc = 1'b0;                                 // TRN
            endcase
            r = floor_v + (inc ? wide_t'(1) : '0);
        end else begin
            r = a <<< (OS < 0 ? -OS : 0);
        end
        r = ovf_fn(r, OUT_W, OUT_SIGNED, OUT_OVF);
        y = r[OUT_W-1:0];
    end
endmodule
