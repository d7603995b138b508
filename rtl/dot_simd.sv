// dot_simd.sv -- SIMD-wide partial dot product of one PE lane: sum_s x[s] * w[s], pipelined.
//
// Weights of 1 or 2 bits (ternary {-1,0,+1}; the 2-bit code -2 a bit flip can produce is exact too)
// need no multiplier: a 2-bit two's complement w = w0 - 2*w1, so the product is an add, a subtract of
// x shifted by one, or a skip. Wider weights use a signed multiplier (a DSP48 on a 7-series part).
// Inputs are unsigned or signed (X_SIGNED); products are exact in DOT_W bits (the generator sizes
// DOT_W from the input and weight types and the layer's fan-in, so no sum can wrap).
//
// Why pipelined: a SIMD=49 add/subtract tree in one cycle was the critical path of a placed and
// routed design (36.9 MHz on an ECP5). The products (level 0: an add/subtract counts as one level,
// a multiplier as LVL) and the clog2(SIMD) levels of the binary adder tree are cut by a register
// after every LVL levels, giving STAGES register stages (0 when LVL = 0: combinational, as
// before); the caller registers the output and delays its control by STAGES. Every register advances on `en`
// (mac_pipe ties it high: its pipe never stalls), so throughput is one product vector a cycle at any depth.
//
// An add/subtract product is not registered on its own: with a register after every product (a stage
// more when clog2(SIMD) is odd) the MNIST CNN routed at 79.3, 87.7 and 93.8 MHz on an ECP5 as its
// other paths were fixed, below the 97.5 MHz without it (bench/results/pnr_fmax.json labels
// product_stage, swg_take, maxpool1); its critical path then was the shared operand register's route
// plus a product and an adder level (10.26 ns).
//
// Why MS (multiplier lanes, LVL > 0): a hard multiplier sits in a fixed DSP row, away from the
// fabric registers around it; register -> MULT18X18D -> register had 8.4 ns of routing in its 12.8 ns
// and was the routed critical path of the MNIST Kronecker example (78 MHz on an ECP5). So the lane
// registers the multiplier's operands (xm, wm) and copies its product register (pc), giving the
// register on each side of the multiplier a neighbour with a whole cycle of route, free to sit next
// to the DSP: two more stages for a multiplier lane (latency only; the caller counts them, as STAGES).
// MREG = 0 leaves them out: kron_matvec's mid writes would land two edges later, which costs its MNIST
// example's folding two drain cycles a sample (352 -> 354), so it keeps MREG = 0 until a route shows
// the gain (codesign/rtl/kron.py KRON_MREG).
//
// Why SPLIT: an input one bit wider than the hard multiplier's signed operand (MUL_W = 18: an ECP5
// MULT18X18D, a DSP48's B port), e.g. kron_matvec's 19-bit `mid` operands, makes the synthesizer
// split the product into a multiplier, a small LUT multiply of the top bits and an adder; that adder
// sat in the multiplier's cycle and was the routed critical path of the MNIST Kronecker example
// (65.8 MHz on an ECP5). With SPLIT the RTL splits it itself, x = xh * 2^K + xl (xl the K = MUL_W - 1
// low bits, unsigned, in the multiplier; xh the few signed top bits, by shift and add in LUTs: a second
// `*` would take a second hard multiplier a lane, 224 for the Kronecker example, more than an 85F's 156),
// registers both partial products where the product register stood, and adds them after it (in the
// first adder level's cycle): the same stages, the same sums.
module dot_simd #(
    parameter int SIMD = 4,
    parameter int XW = 8,
    parameter int X_SIGNED = 0,
    parameter int WW = 2,
    parameter int DOT_W = 16,
    parameter int LVL = 0,          // adder levels (products count as one) between registers; 0: none
    parameter int MUL_W = 18,       // signed operand width of the target's hard multiplier (see SPLIT)
    parameter int MREG = 1          // multiplier lanes: 1 the MS registers (see "Why MS"), 0 none
) (
    input  logic                      clk,
    input  logic                      en,
    input  logic        [SIMD*XW-1:0] x,
    input  logic        [SIMD*WW-1:0] w,
    output logic signed [DOT_W-1:0]   dot
);
    // Exact widths, no wider: a product needs PW bits, a sum of 2^l products PW + l bits (capped at
    // SUM_W); only the result is sign-extended to the accumulator's DOT_W (keeps the adder tree narrow).
    localparam int PW = XW + WW + 1;
    localparam int T = SIMD > 1 ? $clog2(SIMD) : 0;      // adder-tree levels
    localparam int SUM_W = (PW + T < DOT_W) ? PW + T : DOT_W;
    localparam int NW = SUM_W;                           // storage width of every tree node
    // a multiplier (WW > 2) fills a whole stage, an add/subtract product counts as one adder level
    localparam int PL = WW <= 2 ? 1 : (LVL > 0 ? LVL : 1);
    /* verilator lint_off UNUSEDPARAM */
    // registers after the levels l < T with (PL + l) % LVL == 0; mirrored by mac_pipe and codesign/rtl/pipeline.py
    localparam int MS = (WW > 2 && LVL > 0 && MREG != 0) ? 1 : 0;     // multiplier lanes: operand and product copy registers
    localparam int STAGES = LVL > 0 ? (PL + T - 1) / LVL - (PL - 1) / LVL + 2 * MS : 0;
    /* verilator lint_on UNUSEDPARAM */
    localparam int XS = XW + 1;                          // width of the sign- or zero-extended input
    localparam int XE = X_SIGNED != 0 ? XW : XW + 1;     // its significant width
    localparam int K = MUL_W - 1;                        // SPLIT: low input bits, unsigned, in one multiplier
    localparam int XH = XE - K;                          // SPLIT: the signed top bits above them
    // SPLIT: a multiplier lane whose input exceeds the hard multiplier and whose products are registered
    localparam int SPLIT = (WW > 2 && LVL > 0 && T > 0 && XE > MUL_W && WW <= MUL_W) ? 1 : 0;

    // level l holds ceil(SIMD / 2^l) nodes in g_lvl[l].q (after the level's register, if any), each
    // stored sign-extended in NW bits; level 0 holds the products
    for (genvar l = 0; l <= T; l++) begin : g_lvl
        localparam int N = (SIMD + (1 << l) - 1) >> l;              // nodes at level l
        localparam int LW = (PW + l < SUM_W) ? PW + l : SUM_W;      // exact width of a level-l sum
        wire [N*NW-1:0] d;                                          // the level's sums
        wire [N*NW-1:0] q;
        if (l == 0) begin : g_prod
            for (genvar s = 0; s < SIMD; s++) begin : g_lane
                wire        [XW-1:0] xr = x[s*XW +: XW];
                wire signed [XW:0]   xs = (X_SIGNED != 0) ? $signed({xr[XW-1], xr}) : $signed({1'b0, xr});
                wire signed [WW-1:0] ws = w[s*WW +: WW];
                wire signed [PW-1:0] prod;
                if (WW <= 2) begin : g_addsub
                    wire signed [PW-1:0] xe = PW'(xs);
                    // w = w[0] - 2*w[WW-1] (WW == 2) or -w[0] (WW == 1): add, subtract or skip
                    if (WW == 2) begin : g_two
                        assign prod = (ws[0] ? xe : '0) - (ws[1] ? (xe <<< 1) : '0);
                    end else begin : g_one
                        assign prod = ws[0] ? -xe : '0;
                    end
                end else if (MS == 0 && SPLIT == 0) begin : g_mul
                    assign prod = xs * ws;
                end else if (SPLIT == 0) begin : g_mulreg
                    // MS: operands, product and its copy registered (see "Why MS")
                    logic signed [XW:0]   xm;
                    logic signed [WW-1:0] wm;
                    logic signed [PW-1:0] pm, pc;
                    always_ff @(posedge clk) if (en) begin
                        xm <= xs;
                        wm <= ws;
                        pm <= xm * wm;
                        pc <= pm;
                    end
                    if (T > 0) begin : g_copy
                        assign prod = pc;
                    end else begin : g_nocopy
                        assign prod = pm;
                    end
                end else begin : g_split
                    // the partial products are registered (level 0's register), then copied (MS); their sum
                    // follows the copy (MS) or the register
                    // the few top bits by shift and add (a `*` would take a second hard multiplier)
                    wire signed [K:0]        xl = $signed({1'b0, xs[K-1:0]});
                    wire        [XH-1:0]     xh = xs[XE-1:K];
                    logic signed [XH+WW-1:0] hs;
                    always_comb begin
                        hs = '0;
                        for (int i = 0; i < XH; i++)
                            if (xh[i]) hs = (i == XH - 1) ? hs - ((XH+WW)'(ws) <<< i) : hs + ((XH+WW)'(ws) <<< i);
                    end
                    if (MS != 0) begin : g_ms
                        logic signed [K:0]       xlm;
                        logic signed [WW-1:0]    wm;
                        logic signed [XH+WW-1:0] hm;
                        logic signed [K+WW:0]    pl, plc;
                        logic signed [XH+WW-1:0] ph, phc;
                        always_ff @(posedge clk) if (en) begin
                            xlm <= xl;
                            wm <= ws;
                            hm <= hs;
                            pl <= xlm * wm;
                            ph <= hm;
                            plc <= pl;
                            phc <= ph;
                        end
                        assign prod = (PW'(phc) <<< K) + PW'(plc);
                    end else begin : g_nms
                        logic signed [K+WW:0]    pl;
                        logic signed [XH+WW-1:0] ph;
                        always_ff @(posedge clk) if (en) begin
                            pl <= xl * ws;
                            ph <= hs;
                        end
                        assign prod = (PW'(ph) <<< K) + PW'(pl);
                    end
                end
                assign d[s*NW +: NW] = NW'(prod);
            end
        end else begin : g_add
            localparam int NP = (SIMD + (1 << (l - 1)) - 1) >> (l - 1);   // nodes at level l-1
            for (genvar i = 0; i < N; i++) begin : g_node
                wire signed [LW-1:0] a = LW'($signed(g_lvl[l-1].q[2*i*NW +: NW]));
                wire signed [LW-1:0] b;
                if (2*i + 1 < NP) begin : g_pair
                    assign b = LW'($signed(g_lvl[l-1].q[(2*i+1)*NW +: NW]));
                end else begin : g_odd
                    assign b = '0;
                end
                wire signed [LW-1:0] sum = a + b;
                assign d[i*NW +: NW] = NW'(sum);
            end
        end
        // a register after level l when LVL levels (the products weigh PL) have passed since the last
        // one (never after the last level: the caller's output register follows it)
        // (MS or SPLIT: level 0's registers are the multiplier lane's own, inside g_mulreg / g_split)
        if (LVL > 0 && l < T && (PL + l) % LVL == 0 && !((MS != 0 || SPLIT != 0) && l == 0)) begin : g_reg
            logic [N*NW-1:0] r;
            always_ff @(posedge clk) if (en) r <= d;
            assign q = r;
        end else begin : g_wire
            assign q = d;
        end
    end

    assign dot = DOT_W'($signed(g_lvl[T].q[NW-1:0]));
endmodule
