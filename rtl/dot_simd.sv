// dot_simd.sv -- SIMD-wide partial dot product of one PE lane: sum_s x[s] * w[s].
//
// Weights of 1 or 2 bits (ternary {-1,0,+1}; the 2-bit code -2 a bit flip can produce is exact too)
// need no multiplier: a 2-bit two's complement w = w0 - 2*w1, so the product is an add, a subtract of
// x shifted by one, or a skip. Wider weights use a signed multiplier (a DSP48 on a 7-series part).
// Inputs are unsigned or signed (X_SIGNED); products are exact in DOT_W bits (the generator sizes
// DOT_W from the input and weight types and the layer's fan-in, so no sum can wrap).
module dot_simd #(
    parameter int SIMD = 4,
    parameter int XW = 8,
    parameter int X_SIGNED = 0,
    parameter int WW = 2,
    parameter int DOT_W = 16
) (
    input  logic        [SIMD*XW-1:0] x,
    input  logic        [SIMD*WW-1:0] w,
    output logic signed [DOT_W-1:0]   dot
);
    // Exact widths, no wider: a product needs PW bits, a sum of SIMD products PW + clog2(SIMD);
    // only the result is sign-extended to the accumulator's DOT_W (keeps the adder tree narrow).
    localparam int PW = XW + WW + 1;
    localparam int CLOG = SIMD > 1 ? $clog2(SIMD) : 0;
    localparam int SUM_W = (PW + CLOG < DOT_W) ? PW + CLOG : DOT_W;

    logic signed [PW-1:0] prod [0:SIMD-1];

    for (genvar s = 0; s < SIMD; s++) begin : g_lane
        wire        [XW-1:0] xr = x[s*XW +: XW];
        wire signed [XW:0]   xs = (X_SIGNED != 0) ? $signed({xr[XW-1], xr}) : $signed({1'b0, xr});
        wire signed [WW-1:0] ws = w[s*WW +: WW];
        if (WW <= 2) begin : g_addsub
            wire signed [PW-1:0] xe = PW'(xs);
            // w = w[0] - 2*w[WW-1] (WW == 2) or -w[0] (WW == 1): add, subtract or skip
            if (WW == 2) begin : g_two
                assign prod[s] = (ws[0] ? xe : '0) - (ws[1] ? (xe <<< 1) : '0);
            end else begin : g_one
                assign prod[s] = ws[0] ? -xe : '0;
            end
        end else begin : g_mul
            assign prod[s] = xs * ws;
        end
    end

    logic signed [SUM_W-1:0] sum;
    always_comb begin
        sum = '0;
        for (int s = 0; s < SIMD; s++) sum = sum + SUM_W'(prod[s]);
        dot = DOT_W'(sum);
    end
endmodule
