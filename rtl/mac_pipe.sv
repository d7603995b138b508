// mac_pipe.sv -- the shared back end of the folded engines (mvau, kron_matvec): PE lanes of SIMD-wide
// dot products, accumulate, per-output parameter memory, requantize, AXI-Stream output FIFO.
//
// The engine's sequencer issues one term a cycle (stage 0: `issue` with its control bits, only while
// `room` is high) and reads its operands from its own memories; they arrive here at stage 1 (`x`, `w`,
// lane p at p*SIMD*XW / p*SIMD*WW, so each PE lane may have its own inputs). Pipeline:
//   stage 1 (operands) -> [OP_REG: operand register] -> [dot_simd's own STAGES] -> 2 (dot product
//   registered; parameter word `paddr` read) -> 3 (accumulate over first..last; parameter word
//   registered) -> 4 (requant up to the accumulator type with {shift, bias} of lane p at bits
//   p*(SH_W+B_W)) -> 5 (rounding, output overflow, output register) -> output FIFO (FD beats).
// Why the extra stages: placed and routed, the memory outputs and the whole adder tree in one cycle
// limited the clock (36.9 MHz on an ECP5 for an MNIST MLP); the operand register takes the memories'
// clock-to-out off the tree and DOT_LVL cuts the tree (and a multiplier off it). They add DS
// cycles of latency (codesign/rtl/pipeline.py mac_extra_stages) and no cycle per term: the pipe
// still takes one term a cycle.
// Why a non-stalling pipe with a credit counter: with a freeze-the-pipe stall, the enable (output
// register empty or taken, i.e. the downstream ready) fanned out to the clock enable of every
// register of the engine, thousands of them, and was the critical path of the placed and routed MNIST
// MLP (87 MHz). Here the data registers advance every cycle (no enable) and only valid bits travel
// with them; back-pressure acts at the issue: `cnt` counts the sums issued (their last term) and not
// yet taken from the output FIFO, and `room` (its top bit clear, a register output) allows an issue
// only while every sum in flight has a FIFO slot. FD (> the pipe's depth) keeps a stall-free engine at one term a cycle; the FIFO adds one cycle of latency.
// `emit` marks the terms whose sums go to the stream; the others still come out at stage 3 (`acc`,
// `v3` a one-cycle pulse, `emit3` low) for the engine to use (kron_matvec's mid).
// `sb` is a side band carried with the term to stage 3 (e.g. where a result is to be written).
module mac_pipe #(
    parameter int PE = 2,
    parameter int SIMD = 4,
    parameter int XW = 8,
    parameter int X_SIGNED = 0,
    parameter int WW = 2,
    parameter int DOT_W = 18,
    parameter int SH_W = 1,
    parameter int B_W = 2,
    parameter int PS = 0,
    parameter int BS = 0,
    parameter int RW = 40,
    parameter int ACC_W = 32,
    parameter int ACC_SIGNED = 1,
    parameter int ACC_OVF = 0,
    parameter int RELU = 0,
    parameter int OS = 0,
    parameter int RND = 0,
    parameter int OUT_W = 8,
    parameter int OUT_SIGNED = 0,
    parameter int OUT_OVF = 1,
    parameter P_INIT = "p.mem",
    parameter int NP = 4,                        // parameter words (output beats of a sample)
    parameter int PAW = NP > 1 ? $clog2(NP) : 1,
    parameter int PDW = PE * (SH_W + B_W),
    parameter int SBW = 1,
    parameter int DOT_LVL = 2,                   // adder-tree levels a cycle in dot_simd (0: whole tree)
    parameter int OP_REG = 1,                    // operand register stages before the products (0, 1, 2 ...)
    parameter int MREG = 1,                      // dot_simd's multiplier-lane registers (MS: 2 stages when WW > 2)
    parameter int CK = 0,                        // 1: the parameter memory with a checker (wmem_check)
    parameter logic [63:0] P_GOLD = '0,      // the spec's CRC-64 of the parameter image
    parameter int LOCK = 0,                      // 1: a lock unit in the epilogue (rtl/lock_unit.sv)
    parameter int KW = PE * (OUT_W + 1),         // its key word
    parameter int PLW = (LOCK != 0 && KW > PDW) ? KW : PDW  // load-port data: parameter or key word
) (
    input  logic                  clk,
    input  logic                  rst,
    output logic                  room,           // the engine may issue a term this cycle
    // stage 0: the issued term (only while room)
    input  logic                  issue,
    input  logic                  first,          // first term of a sum
    input  logic                  last,           // last term of a sum
    input  logic                  tlast,          // the sum is the sample's last output beat
    input  logic                  emit,           // the sum goes to the output stream
    input  logic [PAW-1:0]        paddr,          // its parameter word
    input  logic [SBW-1:0]        sb,
    // stage 1: the term's operands
    input  logic [PE*SIMD*XW-1:0] x,
    input  logic [PE*SIMD*WW-1:0] w,
    // stage 3: finished sums (v3), before the requantization
    output logic [PE*DOT_W-1:0]   acc,
    output logic                  v3,
    output logic                  emit3,
    output logic [SBW-1:0]        sb3,
    // output stream
    output logic [PE*OUT_W-1:0]   m_tdata,
    output logic                  m_tvalid,
    input  logic                  m_tready,
    output logic                  m_tlast,
    // parameter load port (LOCK: its top address bit selects the lock unit's key bank)
    input  logic                  pl_we,
    input  logic [PAW+LOCK-1:0]   pl_addr,
    input  logic [PLW-1:0]        pl_data,
    output logic                  ck_alarm        // the parameter memory checker's sticky alarm (0 without CK)
);
    // ------------------------------------------------------------------ credits of the output FIFO
    // stages between 1 and 2: the operand register and dot_simd's STAGES (same formula)
    localparam int T = SIMD > 1 ? $clog2(SIMD) : 0;
    localparam int PL = WW <= 2 ? 1 : (DOT_LVL > 0 ? DOT_LVL : 1);
    localparam int DS = OP_REG + (DOT_LVL > 0 ? (PL + T - 1) / DOT_LVL - (PL - 1) / DOT_LVL + (WW > 2 && MREG != 0 ? 2 : 0) : 0);
    // a sum's credit is held from its last issue to its FIFO read, DS + 6 cycles when the stream is
    // ready: FD beats (a power of two > DS + 6) keep the engine at one term a cycle
    localparam int FD = 1 << $clog2(DS + 8);
    localparam int FAW = FD > 1 ? $clog2(FD) : 1;
    logic [FAW:0] cnt;                                // sums issued and not yet taken, 0 .. FD
    wire take = m_tvalid && m_tready;
    wire put = issue && last && emit;
    assign room = !cnt[FAW];
    always_ff @(posedge clk) begin
        if (rst) cnt <= '0;
        else if (put != take) cnt <= put ? cnt + (FAW + 1)'(1) : cnt - (FAW + 1)'(1);
    end

    // ------------------------------------------------------------------ stage 1: control of the read term
    logic v1, first1, last1, tlast1, emit1;
    logic [PAW-1:0] pa1;
    logic [SBW-1:0] sb1;
    always_ff @(posedge clk) begin
        first1 <= first;
        last1 <= last;
        tlast1 <= tlast;
        emit1 <= emit;
        pa1 <= paddr;
        sb1 <= sb;
        if (rst) v1 <= 1'b0;
        else v1 <= issue;
    end

    // ------------------------------------------------------------------ operand register (OP_REG)
    logic [PE*SIMD*XW-1:0] xo;
    logic [PE*SIMD*WW-1:0] wo;
    if (OP_REG != 0) begin : g_opreg
        // OP_REG stages (2: the first can sit by a wide memory's block RAMs, the second by the products);
        // stage i at bits i*width of a shift register
        localparam int XB = PE * SIMD * XW, WB = PE * SIMD * WW;
        logic [OP_REG*XB-1:0] xq;
        logic [OP_REG*WB-1:0] wq;
        always_ff @(posedge clk) begin
            xq <= (xq << XB) | (OP_REG*XB)'(x);
            wq <= (wq << WB) | (OP_REG*WB)'(w);
        end
        assign xo = xq[(OP_REG-1)*XB +: XB];
        assign wo = wq[(OP_REG-1)*WB +: WB];
    end else begin : g_opwire
        assign xo = x;
        assign wo = w;
    end

    // ------------------------------------------------------------------ the term's control, delayed by DS
    localparam int CW = 4 + PAW + SBW;
    wire [CW-1:0] c1 = {first1, last1, tlast1, emit1, pa1, sb1};
    wire [CW-1:0] cd;
    wire vd;
    if (DS > 0) begin : g_delay
        logic [DS*CW-1:0] cq;
        logic [DS-1:0] vq;
        always_ff @(posedge clk) begin
            cq <= (cq << CW) | (DS*CW)'(c1);
            if (rst) vq <= '0;
            else vq <= (vq << 1) | DS'(v1);
        end
        assign cd = cq[(DS-1)*CW +: CW];
        assign vd = vq[DS-1];
    end else begin : g_nodelay
        assign cd = c1;
        assign vd = v1;
    end

    // ------------------------------------------------------------------ stage 2: SIMD dot products
    logic signed [DOT_W-1:0] dot1 [0:PE-1];
    logic signed [DOT_W-1:0] dot2 [0:PE-1];
    logic v2, first2, last2, tlast2, emit2;
    logic [PAW-1:0] pa2;
    logic [SBW-1:0] sb2;
    for (genvar p = 0; p < PE; p++) begin : g_pe
        dot_simd #(.SIMD(SIMD), .XW(XW), .X_SIGNED(X_SIGNED), .WW(WW), .DOT_W(DOT_W), .LVL(DOT_LVL), .MREG(MREG)) u_dot (
            .clk(clk), .en(1'b1), .x(xo[p*SIMD*XW +: SIMD*XW]), .w(wo[p*SIMD*WW +: SIMD*WW]), .dot(dot1[p])
        );
        always_ff @(posedge clk) dot2[p] <= dot1[p];
    end
    always_ff @(posedge clk) begin
        {first2, last2, tlast2, emit2, pa2, sb2} <= cd;
        if (rst) v2 <= 1'b0;
        else v2 <= vd;
    end

    // ------------------------------------------------------------------ stage 3: accumulate
    logic signed [DOT_W-1:0] acc_r [0:PE-1];
    logic tlast3;
    logic [PDW-1:0] prm3;
    for (genvar p = 0; p < PE; p++) begin : g_acc
        always_ff @(posedge clk) if (v2) acc_r[p] <= (first2 ? '0 : acc_r[p]) + dot2[p];
        assign acc[p*DOT_W +: DOT_W] = acc_r[p];
    end
    always_ff @(posedge clk) begin
        tlast3 <= tlast2;
        emit3 <= emit2;
        sb3 <= sb2;
        if (rst) v3 <= 1'b0;
        else v3 <= v2 && last2;
    end
    // the parameter word is read one stage early (address pa of stage 1's delayed control) and
    // registered, so the memory's clock-to-out (5.8 ns for an ECP5 block RAM) is not on the requant path
    logic [PDW-1:0] prm2;
    wire pmem_we = pl_we && (LOCK == 0 || !pl_addr[PAW+LOCK-1]);  // LOCK: top address bit = key bank
    if (CK != 0) begin : g_ck
        wmem_check #(.DW(PDW), .DEPTH(NP), .AW(PAW), .INIT(P_INIT), .GOLD(P_GOLD)) u_pmem (
            .clk(clk), .rst(rst), .re(1'b1), .raddr(cd[SBW +: PAW]), .rdata(prm2),
            .we(pmem_we), .waddr(pl_addr[PAW-1:0]), .wdata(pl_data[PDW-1:0]), .alarm(ck_alarm)
        );
    end else begin : g_mem
        wmem #(.DW(PDW), .DEPTH(NP), .AW(PAW), .INIT(P_INIT)) u_pmem (
            .clk(clk), .re(1'b1), .raddr(cd[SBW +: PAW]), .rdata(prm2),
            .we(pmem_we), .waddr(pl_addr[PAW-1:0]), .wdata(pl_data[PDW-1:0])
        );
        assign ck_alarm = 1'b0;
    end
    always_ff @(posedge clk) prm3 <= prm2;

    // ------------------------------------------------------------------ stage 4: requant up to the accumulator type
    // (the lane is cut in two by a register: shift, bias and accumulator overflow here, rounding and
    // the output overflow in stage 5; one stage of latency, no cycle per output)
    localparam int AX_W = ACC_W + 1;                 // a, sign- or zero-extended (requant's dot is signed)
    logic [PE*ACC_W-1:0] a3;
    logic [PE*AX_W-1:0] a4;
    logic v4, tlast4, emit4;
    for (genvar p = 0; p < PE; p++) begin : g_rq
        requant #(
            .DOT_W(DOT_W), .SH_W(SH_W), .B_W(B_W), .PS(PS), .BS(BS), .W(RW),
            .ACC_W(ACC_W), .ACC_SIGNED(ACC_SIGNED), .ACC_OVF(ACC_OVF), .RELU(RELU),
            .OS(0), .RND(0), .OUT_W(ACC_W), .OUT_SIGNED(ACC_SIGNED), .OUT_OVF(0), .PART(1)
        ) u_rq_acc (
            .dot(acc_r[p]),
            .shift(prm3[p*(SH_W+B_W)+B_W +: SH_W]),
            .bias(prm3[p*(SH_W+B_W) +: B_W]),
            .y(a3[p*ACC_W +: ACC_W])
        );
        always_ff @(posedge clk) begin
            a4[p*AX_W +: AX_W] <= {ACC_SIGNED != 0 ? a3[p*ACC_W + ACC_W - 1] : 1'b0, a3[p*ACC_W +: ACC_W]};
        end
    end
    always_ff @(posedge clk) begin
        tlast4 <= tlast3;
        emit4 <= emit3;
        if (rst) v4 <= 1'b0;
        else v4 <= v3;
    end

    // ------------------------------------------------------------------ stage 5: rounding, output overflow, output
    logic [PE*OUT_W-1:0] y4;
    for (genvar p = 0; p < PE; p++) begin : g_rq_out
        requant #(
            .DOT_W(AX_W), .SH_W(1), .B_W(1), .PS(0), .BS(0), .W(RW),
            .ACC_W(ACC_W), .ACC_SIGNED(ACC_SIGNED), .ACC_OVF(ACC_OVF), .RELU(RELU),
            .OS(OS), .RND(RND), .OUT_W(OUT_W), .OUT_SIGNED(OUT_SIGNED), .OUT_OVF(OUT_OVF), .PART(2)
        ) u_rq_out (
            .dot(a4[p*AX_W +: AX_W]), .shift(1'b0), .bias(1'b0), .y(y4[p*OUT_W +: OUT_W])
        );
    end
    // ------------------------------------------------------------------ lock hook (LOCK): the key's values
    // replace the masked neurons' outputs before the output register (rtl/lock_unit.sv), 0 cycles added
    logic [PE*OUT_W-1:0] y4l;
    if (LOCK != 0) begin : g_lock
        logic [PAW-1:0] pa3;  // the parameter address (output beat) of stage 3: the key word is read with it
        always_ff @(posedge clk) pa3 <= pa2;
        lock_unit #(.PE(PE), .OUT_W(OUT_W), .NF(NP), .KAW(PAW), .KW(KW)) u_lock (
            .clk(clk), .raddr(pa3), .y(y4), .yl(y4l),
            .kl_we(pl_we && pl_addr[PAW+LOCK-1]), .kl_addr(pl_addr[PAW-1:0]), .kl_data(pl_data[KW-1:0])
        );
    end else begin : g_nolock
        assign y4l = y4;
    end
    logic [PE*OUT_W-1:0] y5;
    logic v5, tlast5;
    always_ff @(posedge clk) begin
        y5 <= y4l;
        tlast5 <= tlast4;
        if (rst) v5 <= 1'b0;
        else v5 <= v4 && emit4;
    end

    // ------------------------------------------------------------------ output FIFO (never full on a write: credits)
    /* verilator lint_off PINCONNECTEMPTY */
    axis_fifo #(.DW(PE * OUT_W + 1), .DEPTH(FD)) u_ofifo (
        .clk(clk), .rst(rst), .s_tdata({tlast5, y5}), .s_tvalid(v5), .s_tready(),
        .m_tdata({m_tlast, m_tdata}), .m_tvalid(m_tvalid), .m_tready(m_tready)
    );
    /* verilator lint_on PINCONNECTEMPTY */
endmodule
