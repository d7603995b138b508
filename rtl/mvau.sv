// mvau.sv -- folded dense matrix-vector engine (FINN MVAU-like) with its requantization epilogue.
//
// Computes y = requant(x @ W) for one dense layer (codesign/emulator.py dense_kernel), folded:
// each cycle PE output lanes each take a SIMD-wide partial dot product, so one sample takes
// (N/SIMD) * (M/PE) cycles and PE*SIMD is the number of MAC lanes. Order: for each output fold
// `of` (PE outputs), for each input fold `sf` (SIMD inputs): acc[p] += x[sf*SIMD+s] * W[sf*SIMD+s, of*PE+p].
//
// Input:  AXI-Stream, SIMD elements per beat, N/SIMD beats per sample, stored in a double buffer:
//         the next sample is written into one bank while the engine reads the other, so in steady
//         state the engine issues a MAC cycle every clock (compute-bound, no load gaps).
// Output: AXI-Stream, PE elements per beat (output fold order), tlast on the sample's last beat.
// Weights: wmem word `of*SF + sf` holds lane (p, s) at bits ((p*SIMD)+s)*WW; params word `of` holds
//         lane p's {weight_shift, bias} at bits p*(SH_W+B_W). Both writable through the load ports.
// Pipeline: issue (addresses) -> read (memories) -> dot (SIMD products) -> accumulate -> requant/out.
// Every stage advances on `en` (output register empty or taken), a freeze-the-pipe stall that keeps
// the control simple; the write side of the input buffer runs independently of it.
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
    parameter int SF = N / SIMD,
    parameter int NF = M / PE,
    parameter int WAW = SF * NF > 1 ? $clog2(SF * NF) : 1,   // weight address width
    parameter int PAW = NF > 1 ? $clog2(NF) : 1,             // param address width
    parameter int PDW = PE * (SH_W + B_W)       // param word width
) (
    input  logic                  clk,
    input  logic                  rst,
    input  logic [SIMD*XW-1:0]    s_tdata,
    input  logic                  s_tvalid,
    output logic                  s_tready,
    output logic [PE*OUT_W-1:0]   m_tdata,
    output logic                  m_tvalid,
    input  logic                  m_tready,
    output logic                  m_tlast,
    input  logic                  wl_we,
    input  logic [WAW-1:0]        wl_addr,
    input  logic [PE*SIMD*WW-1:0] wl_data,
    input  logic                  pl_we,
    input  logic [PAW-1:0]        pl_addr,
    input  logic [PDW-1:0]        pl_data
);
    localparam int SCW = SF > 1 ? $clog2(SF) : 1;    // input-fold counter width
    localparam int NCW = PAW;                         // output-fold counter width

    // the weight address walks 0 .. SF*NF-1 in issue order: of*SF + sf

    // ------------------------------------------------------------------ input double buffer
    // bank b occupies addresses {b, fold}: one read and one write port, never the same bank
    logic [SIMD*XW-1:0] ibuf [0:(2<<SCW)-1];
    logic [1:0] full;
    logic wbank, rbank;
    logic [SCW-1:0] wptr;
    wire wr = s_tvalid && s_tready;
    wire wr_last = wptr == SCW'(SF - 1);
    assign s_tready = !full[wbank];
    always_ff @(posedge clk) if (wr) ibuf[{wbank, wptr}] <= s_tdata;

    // ------------------------------------------------------------------ sequencer (stage 0)
    logic [SCW-1:0] sf;
    logic [NCW-1:0] of;
    logic [WAW-1:0] waddr;
    wire en = !m_tvalid || m_tready;
    wire issue = en && full[rbank];
    wire last_sf = sf == SCW'(SF - 1);
    wire last_of = of == NCW'(NF - 1);
    wire done_sample = issue && last_sf && last_of;

    always_ff @(posedge clk) begin
        if (rst) begin
            full <= 2'b00;
            wbank <= 1'b0;
            rbank <= 1'b0;
            wptr <= '0;
            sf <= '0;
            of <= '0;
            waddr <= '0;
        end else begin
            if (wr) begin
                wptr <= wr_last ? '0 : wptr + SCW'(1);
                if (wr_last) wbank <= ~wbank;
            end
            // a bank is set full by the writer (it was empty) and cleared by the reader (it was full)
            for (int b = 0; b < 2; b++) begin
                if (wr && wr_last && wbank == b[0]) full[b] <= 1'b1;
                else if (done_sample && rbank == b[0]) full[b] <= 1'b0;
            end
            if (issue) begin
                sf <= last_sf ? '0 : sf + SCW'(1);
                if (last_sf) of <= last_of ? '0 : of + NCW'(1);
                waddr <= done_sample ? '0 : waddr + WAW'(1);
                if (done_sample) rbank <= ~rbank;
            end
        end
    end

    // ------------------------------------------------------------------ stage 1: memory read
    logic [SIMD*XW-1:0] x1;
    logic [PE*SIMD*WW-1:0] w1;
    logic v1, first1, last1, tlast1;
    logic [NCW-1:0] of1;
    always_ff @(posedge clk) begin
        if (en) begin
            x1 <= ibuf[{rbank, sf}];
            first1 <= sf == '0;
            last1 <= last_sf;
            tlast1 <= last_of;
            of1 <= of;
        end
        if (rst) v1 <= 1'b0;
        else if (en) v1 <= issue;
    end
    wmem #(.DW(PE * SIMD * WW), .DEPTH(SF * NF), .AW(WAW), .INIT(W_INIT)) u_wmem (
        .clk(clk), .re(en), .raddr(waddr), .rdata(w1),
        .we(wl_we), .waddr(wl_addr), .wdata(wl_data)
    );

    // ------------------------------------------------------------------ stage 2: SIMD dot products
    logic signed [DOT_W-1:0] dot1 [0:PE-1];
    logic signed [DOT_W-1:0] dot2 [0:PE-1];
    logic v2, first2, last2, tlast2;
    logic [NCW-1:0] of2;
    for (genvar p = 0; p < PE; p++) begin : g_pe
        dot_simd #(.SIMD(SIMD), .XW(XW), .X_SIGNED(X_SIGNED), .WW(WW), .DOT_W(DOT_W)) u_dot (
            .x(x1), .w(w1[p*SIMD*WW +: SIMD*WW]), .dot(dot1[p])
        );
        always_ff @(posedge clk) if (en) dot2[p] <= dot1[p];
    end
    always_ff @(posedge clk) begin
        if (en) begin
            first2 <= first1;
            last2 <= last1;
            tlast2 <= tlast1;
            of2 <= of1;
        end
        if (rst) v2 <= 1'b0;
        else if (en) v2 <= v1;
    end

    // ------------------------------------------------------------------ stage 3: accumulate
    logic signed [DOT_W-1:0] acc [0:PE-1];
    logic v3, tlast3;
    logic [PDW-1:0] prm3;
    for (genvar p = 0; p < PE; p++) begin : g_acc
        always_ff @(posedge clk) if (en && v2) acc[p] <= (first2 ? '0 : acc[p]) + dot2[p];
    end
    always_ff @(posedge clk) begin
        if (en) tlast3 <= tlast2;
        if (rst) v3 <= 1'b0;
        else if (en) v3 <= v2 && last2;
    end
    wmem #(.DW(PDW), .DEPTH(NF), .AW(PAW), .INIT(P_INIT)) u_pmem (
        .clk(clk), .re(en), .raddr(of2), .rdata(prm3),
        .we(pl_we), .waddr(pl_addr), .wdata(pl_data)
    );

    // ------------------------------------------------------------------ stage 4: requant + output
    logic [PE*OUT_W-1:0] y3;
    for (genvar p = 0; p < PE; p++) begin : g_rq
        requant #(
            .DOT_W(DOT_W), .SH_W(SH_W), .B_W(B_W), .PS(PS), .BS(BS), .W(RW),
            .ACC_W(ACC_W), .ACC_SIGNED(ACC_SIGNED), .ACC_OVF(ACC_OVF), .RELU(RELU),
            .OS(OS), .RND(RND), .OUT_W(OUT_W), .OUT_SIGNED(OUT_SIGNED), .OUT_OVF(OUT_OVF)
        ) u_rq (
            .dot(acc[p]),
            .shift(prm3[p*(SH_W+B_W)+B_W +: SH_W]),
            .bias(prm3[p*(SH_W+B_W) +: B_W]),
            .y(y3[p*OUT_W +: OUT_W])
        );
    end
    always_ff @(posedge clk) begin
        if (en) begin
            m_tdata <= y3;
            m_tlast <= tlast3;
        end
        if (rst) m_tvalid <= 1'b0;
        else if (en) m_tvalid <= v3;
    end
endmodule
