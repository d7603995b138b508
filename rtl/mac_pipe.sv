// mac_pipe.sv -- the shared back end of the folded engines (mvau, kron_matvec): PE lanes of SIMD-wide
// dot products, accumulate, per-output parameter memory, requantize, AXI-Stream output register.
//
// The engine's sequencer issues one term a cycle (stage 0: `issue` with its control bits) and reads
// its operands from its own memories with re = `en`; they arrive here at stage 1 (`x`, `w`, lane p at
// p*SIMD*XW / p*SIMD*WW, so each PE lane may have its own inputs). Pipeline:
//   stage 1 (operands) -> 2 (dot_simd, registered) -> 3 (accumulate over first..last; parameter word
//   `paddr` read) -> 4 (requant with {shift, bias} of lane p at bits p*(SH_W+B_W), output register).
// Every stage advances on `en` (output register empty or taken), a freeze-the-pipe stall that keeps
// the control simple. `emit` marks the terms whose sums go to the stream (m_tvalid); the others
// still come out at stage 3 (`acc`, `v3`, `emit3` low) for the engine to use (kron_matvec's mid).
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
    parameter int SBW = 1
) (
    input  logic                  clk,
    input  logic                  rst,
    output logic                  en,
    // stage 0: the issued term
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
    // parameter load port
    input  logic                  pl_we,
    input  logic [PAW-1:0]        pl_addr,
    input  logic [PDW-1:0]        pl_data
);
    assign en = !m_tvalid || m_tready;

    // ------------------------------------------------------------------ stage 1: control of the read term
    logic v1, first1, last1, tlast1, emit1;
    logic [PAW-1:0] pa1;
    logic [SBW-1:0] sb1;
    always_ff @(posedge clk) begin
        if (en) begin
            first1 <= first;
            last1 <= last;
            tlast1 <= tlast;
            emit1 <= emit;
            pa1 <= paddr;
            sb1 <= sb;
        end
        if (rst) v1 <= 1'b0;
        else if (en) v1 <= issue;
    end

    // ------------------------------------------------------------------ stage 2: SIMD dot products
    logic signed [DOT_W-1:0] dot1 [0:PE-1];
    logic signed [DOT_W-1:0] dot2 [0:PE-1];
    logic v2, first2, last2, tlast2, emit2;
    logic [PAW-1:0] pa2;
    logic [SBW-1:0] sb2;
    for (genvar p = 0; p < PE; p++) begin : g_pe
        dot_simd #(.SIMD(SIMD), .XW(XW), .X_SIGNED(X_SIGNED), .WW(WW), .DOT_W(DOT_W)) u_dot (
            .x(x[p*SIMD*XW +: SIMD*XW]), .w(w[p*SIMD*WW +: SIMD*WW]), .dot(dot1[p])
        );
        always_ff @(posedge clk) if (en) dot2[p] <= dot1[p];
    end
    always_ff @(posedge clk) begin
        if (en) begin
            first2 <= first1;
            last2 <= last1;
            tlast2 <= tlast1;
            emit2 <= emit1;
            pa2 <= pa1;
            sb2 <= sb1;
        end
        if (rst) v2 <= 1'b0;
        else if (en) v2 <= v1;
    end

    // ------------------------------------------------------------------ stage 3: accumulate
    logic signed [DOT_W-1:0] acc_r [0:PE-1];
    logic tlast3;
    logic [PDW-1:0] prm3;
    for (genvar p = 0; p < PE; p++) begin : g_acc
        always_ff @(posedge clk) if (en && v2) acc_r[p] <= (first2 ? '0 : acc_r[p]) + dot2[p];
        assign acc[p*DOT_W +: DOT_W] = acc_r[p];
    end
    always_ff @(posedge clk) begin
        if (en) begin
            tlast3 <= tlast2;
            emit3 <= emit2;
            sb3 <= sb2;
        end
        if (rst) v3 <= 1'b0;
        else if (en) v3 <= v2 && last2;
    end
    wmem #(.DW(PDW), .DEPTH(NP), .AW(PAW), .INIT(P_INIT)) u_pmem (
        .clk(clk), .re(en), .raddr(pa2), .rdata(prm3),
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
            .dot(acc_r[p]),
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
        else if (en) m_tvalid <= v3 && emit3;
    end
endmodule
