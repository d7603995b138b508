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
// PART splits the lane for a pipeline register in the middle (mac_pipe): 1 computes only a (the
// accumulator value, y = a in OUT_W = ACC_W bits), 2 only r and y from a = dot (the caller passes a
// sign- or zero-extended to DOT_W = ACC_W + 1 bits); 0 (default) is the whole lane.
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
    parameter int OUT_OVF = 1,
    parameter int PART = 0          // 0: whole lane; 1: up to a; 2: from a (see above)
) (
    input  logic signed [DOT_W-1:0] dot,
    input  logic        [SH_W-1:0]  shift,
    input  logic signed [B_W-1:0]   bias,
    output logic        [OUT_W-1:0] y
);
    localparam logic signed [W-1:0] ONE = 1;

    // integer range of an accumulator / output type, as W-bit signed constants
    // (functions assign their name, not `return`, so yosys' Verilog frontend reads them too)
    function automatic logic signed [W-1:0] tmax(input int width, input int is_signed);
        tmax = is_signed != 0 ? (ONE <<< (width - 1)) - ONE : (ONE <<< width) - ONE;
    endfunction
    function automatic logic signed [W-1:0] tmin(input int width, input int is_signed, input int ovf);
        if (is_signed == 0) tmin = '0;
        else if (ovf == 2) tmin = -tmax(width, is_signed);   // SAT_SYM: symmetric range
        else tmin = -(ONE <<< (width - 1));
    endfunction
    // bring v into a type's range: WRAP keeps the low bits, SAT/SAT_SYM clip
    function automatic logic signed [W-1:0] ovf_fn(input logic signed [W-1:0] v, input int width,
                                                   input int is_signed, input int ovf);
        logic signed [W-1:0] hi, lo, low;
        hi = tmax(width, is_signed);
        lo = tmin(width, is_signed, ovf);
        low = v & ((ONE <<< width) - ONE);
        if (is_signed != 0 && low > hi) low = low - (ONE <<< width);
        if (ovf == 0) ovf_fn = low;
        else if (v > hi) ovf_fn = hi;
        else if (v < lo) ovf_fn = lo;
        else ovf_fn = v;
    endfunction

    logic signed [W-1:0] t, a, r, floor_v;
    logic half, below, neg, inc;

    always_comb begin
        t = {{(W - DOT_W){dot[DOT_W-1]}}, dot};
        if (PART == 2) begin
            a = t;
        end else begin
            t = (t <<< shift) <<< PS;
            t = t + ({{(W - B_W){bias[B_W-1]}}, bias} <<< BS);
            a = ovf_fn(t, ACC_W, ACC_SIGNED, ACC_OVF);
            if (RELU != 0 && a < 0) a = '0;
        end
        floor_v = a;
        half = 1'b0;
        below = 1'b0;
        neg = a < 0;
        inc = 1'b0;
        if (OS > 0) begin
            floor_v = a >>> OS;
            half = a[(OS > 0 ? OS - 1 : 0)];
            below = (a & ((ONE <<< (OS > 0 ? OS - 1 : 0)) - ONE)) != '0;
            case (RND)
                1: inc = neg & (half | below);                       // TRN_ZERO
                2: inc = half;                                       // RND
                3: inc = half & (below | neg);                       // RND_ZERO
                4: inc = half & (below | ~neg);                      // RND_INF
                5: inc = half & below;                               // RND_MIN_INF
                6: inc = half & (below | floor_v[0]);                // RND_CONV
                default: inc = 1'b0;                                 // TRN
            endcase
            r = floor_v + (inc ? ONE : '0);
        end else begin
            r = a <<< (OS < 0 ? -OS : 0);
        end
        r = ovf_fn(r, OUT_W, OUT_SIGNED, OUT_OVF);
        y = PART == 1 ? a[OUT_W-1:0] : r[OUT_W-1:0];
    end
endmodule
