// mvau.sv -- folded dense matrix-vector engine (FINN MVAU-like) with its requantization epilogue.
//
// Computes y = requant(x @ W) for one dense layer (codesign/emulator.py dense_kernel), folded:
// each cycle PE output lanes each take a SIMD-wide partial dot product, so one sample takes
// (N/SIMD) * (M/PE) cycles and PE*SIMD is the number of MAC lanes. Order: for each output fold
// `of` (PE outputs), for each input fold `sf` (SIMD inputs): acc[p] += x[sf*SIMD+s] * W[sf*SIMD+s, of*PE+p].
//
// Input:  AXI-Stream, SIMD elements per beat, N/SIMD beats per sample, stored in a double buffer
//         (axis_inbuf): the next sample is written into one bank while the engine reads the other, so
//         in steady state the engine issues a MAC cycle every clock (compute-bound, no load gaps).
// Output: AXI-Stream, PE elements per beat (output fold order), tlast on the sample's last beat.
// Weights: wmem word `of*SF + sf` holds lane (p, s) at bits ((p*SIMD)+s)*WW; params word `of` holds
//         lane p's {weight_shift, bias} at bits p*(SH_W+B_W). Both writable through the load ports.
// MW > 1 (a conv engine's windows a beat, rtl/swg.sv MW): each beat holds MW samples side by side (sample
//         j in bits j*SIMD*XW) that share every weight read; MW copies of mac_pipe compute them in step
//         and output beat holds the MW results (sample j in bits j*PE*OUT_W: with PE = M, one output
//         fold, that is MW NHWC pixels in order). PE*SIMD*MW MAC lanes.
// Pipeline: issue (addresses) -> read (memories) -> dot (SIMD products) -> accumulate -> requant/out,
// the stages after the read in mac_pipe (DOT_LVL, OP_REG: its extra stages, latency only). The pipe
// never stalls: a term issues while mac_pipe's output FIFO has `room` for its sum (credits), and the
// data registers and memories advance every cycle (no enable fanned out to them); the write side of
// the input buffer runs independently.
module mvau #(
    /* verilator lint_off UNUSEDPARAM */
    parameter int N = 16,            // inputs (padded to a multiple of SIMD)
    parameter int M = 8,             // outputs (padded to a multiple of PE)
    /* verilator lint_on UNUSEDPARAM */
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
    parameter W_INIT = "w.mem",
    parameter P_INIT = "p.mem",
    parameter int DOT_LVL = 2,       // mac_pipe's adder-tree levels a cycle (codesign/rtl/pipeline.py)
    parameter int OP_REG = 1,        // mac_pipe's operand register
    parameter int IN_WREG = 0,       // 1: the input buffer's registered write port (axis_inbuf WREG)
    parameter int MW = 1,            // samples a beat sharing the weights (a conv's windows a beat; NF = 1)
    parameter int SF = N / SIMD,
    parameter int NF = M / PE,
    parameter int WAW = SF * NF > 1 ? $clog2(SF * NF) : 1,   // weight address width
    parameter int PAW = NF > 1 ? $clog2(NF) : 1,             // param address width
    parameter int PDW = PE * (SH_W + B_W),      // param word width
    parameter int CK = 0,            // 1: memories with a checker (wmem_check, rtl.checker: true)
    parameter logic [63:0] W_GOLD = '0,   // the spec's CRC-64 of the weight image
    parameter logic [63:0] P_GOLD = '0,   // ... and of the bias/shift image
    parameter int LOCK = 0,                      // 1: mac_pipe's lock unit (rtl/lock_unit.sv), keys on the param port
    parameter int PLW = (LOCK != 0 && PE * (OUT_W + 1) > PDW) ? PE * (OUT_W + 1) : PDW  // param port data width
) (
    input  logic                  clk,
    input  logic                  rst,
    input  logic [MW*SIMD*XW-1:0] s_tdata,
    input  logic                  s_tvalid,
    output logic                  s_tready,
    output logic [MW*PE*OUT_W-1:0] m_tdata,
    output logic                  m_tvalid,
    input  logic                  m_tready,
    output logic                  m_tlast,
    input  logic                  wl_we,
    input  logic [WAW-1:0]        wl_addr,
    input  logic [PE*SIMD*WW-1:0] wl_data,
    input  logic                  pl_we,
    input  logic [PAW+LOCK-1:0]   pl_addr,    // LOCK: top bit 1 writes the key bank
    input  logic [PLW-1:0]        pl_data,
    output logic                  ck_alarm   // checker's sticky alarm (0 without CK)
);
    localparam int SCW = SF > 1 ? $clog2(SF) : 1;    // input-fold counter width
    localparam int NCW = PAW;                         // output-fold counter width

    // the weight address walks 0 .. SF*NF-1 in issue order: of*SF + sf

    // ------------------------------------------------------------------ input double buffer
    logic full;
    logic [MW*SIMD*XW-1:0] x1;
    logic room, done_sample;
    logic [SCW-1:0] sf;
    axis_inbuf #(.DW(MW * SIMD * XW), .BEATS(SF), .BAW(SCW), .WREG(IN_WREG)) u_inbuf (
        .clk(clk), .rst(rst), .s_tdata(s_tdata), .s_tvalid(s_tvalid), .s_tready(s_tready),
        .full(full), .re(1'b1), .raddr(sf), .rdata(x1), .rdone(done_sample)
    );

    // ------------------------------------------------------------------ sequencer (stage 0)
    logic [NCW-1:0] of;
    logic [WAW-1:0] waddr;
    wire issue = room && full;
    wire last_sf = sf == SCW'(SF - 1);
    wire last_of = of == NCW'(NF - 1);
    assign done_sample = issue && last_sf && last_of;

    always_ff @(posedge clk) begin
        if (rst) begin
            sf <= '0;
            of <= '0;
            waddr <= '0;
        end else if (issue) begin
            sf <= last_sf ? '0 : sf + SCW'(1);
            if (last_sf) of <= last_of ? '0 : of + NCW'(1);
            waddr <= done_sample ? '0 : waddr + WAW'(1);
        end
    end

    // ------------------------------------------------------------------ stage 1: memory read
    logic [PE*SIMD*WW-1:0] w1;
    logic w_alarm, p_alarm;
    if (CK != 0) begin : g_ck
        wmem_check #(.DW(PE * SIMD * WW), .DEPTH(SF * NF), .AW(WAW), .INIT(W_INIT), .GOLD(W_GOLD)) u_wmem (
            .clk(clk), .rst(rst), .re(1'b1), .raddr(waddr), .rdata(w1),
            .we(wl_we), .waddr(wl_addr), .wdata(wl_data), .alarm(w_alarm)
        );
    end else begin : g_mem
        wmem #(.DW(PE * SIMD * WW), .DEPTH(SF * NF), .AW(WAW), .INIT(W_INIT)) u_wmem (
            .clk(clk), .re(1'b1), .raddr(waddr), .rdata(w1),
            .we(wl_we), .waddr(wl_addr), .wdata(wl_data)
        );
        assign w_alarm = 1'b0;
    end
    assign ck_alarm = w_alarm | p_alarm;

    // ------------------------------------------------------------------ stages 2-4: dot, accumulate, requant, output
    // copy j computes sample j of the beat; the copies run in step (same issue, same weights), so copy 0's
    // credits and output handshake stand for all
    logic [MW-1:0] p_alarms;
    /* verilator lint_off UNUSEDSIGNAL */
    logic [MW-1:0] rooms, valids, lasts;
    /* verilator lint_on UNUSEDSIGNAL */
    assign room = rooms[0];
    assign m_tvalid = valids[0];
    assign m_tlast = lasts[0];
    assign p_alarm = |p_alarms;
    for (genvar j = 0; j < MW; j++) begin : g_mw
        mac_pipe #(
            .PE(PE), .SIMD(SIMD), .XW(XW), .X_SIGNED(X_SIGNED), .WW(WW), .DOT_W(DOT_W), .SH_W(SH_W),
            .B_W(B_W), .PS(PS), .BS(BS), .RW(RW), .ACC_W(ACC_W), .ACC_SIGNED(ACC_SIGNED), .ACC_OVF(ACC_OVF),
            .RELU(RELU), .OS(OS), .RND(RND), .OUT_W(OUT_W), .OUT_SIGNED(OUT_SIGNED), .OUT_OVF(OUT_OVF),
            .P_INIT(P_INIT), .NP(NF), .PAW(PAW), .PDW(PDW), .SBW(1), .DOT_LVL(DOT_LVL), .OP_REG(OP_REG),
            .CK(CK), .P_GOLD(P_GOLD), .LOCK(LOCK), .PLW(PLW)
        ) u_mac (
            .clk(clk), .rst(rst), .room(rooms[j]),
            .issue(issue), .first(sf == '0), .last(last_sf), .tlast(last_of), .emit(1'b1), .paddr(of), .sb(1'b0),
            .x({PE{x1[j*SIMD*XW +: SIMD*XW]}}), .w(w1),
            .acc(), .v3(), .emit3(), .sb3(),
            .m_tdata(m_tdata[j*PE*OUT_W +: PE*OUT_W]), .m_tvalid(valids[j]), .m_tready(m_tready), .m_tlast(lasts[j]),
            .pl_we(pl_we), .pl_addr(pl_addr), .pl_data(pl_data), .ck_alarm(p_alarms[j])
        );
    end
endmodule
