// lock_unit.sv -- EdgePro neuron-authorization lock unit on a layer's output stream (its epilogue).
//
// Each output beat carries PE neurons of one sample, beat b holding neurons b*PE .. b*PE+PE-1 (the
// mvau's output fold order); a beat counter gives every lane its neuron index. The key register
// bank holds, for each neuron, a mask bit and a value of the layer's output type: lane p of word b
// is {value, mask} at bits p*(OUT_W+1). A masked neuron's activation is replaced by its value, the
// others pass through (codesign/techniques/lock/kernel.py lock_unit). The mux is combinational on tdata and
// valid/ready/last pass straight through, so the unit adds no cycle and no stall.
// The bank is a block RAM (ram_style "block": the key costs no LUT): its registered read fetches the
// word of the beat coming next (the counter's next value), so the word of the current beat is ready
// when its data is, with no cycle added. A key write is seen from the next cycle on.
// The bank is written only through the key port (the top's load port, wl_sel = 128 + layer), from
// the password decrypted at run time; it starts all-zero (no key), and no image or parameter of
// the design depends on the password.
module lock_unit #(
    parameter int PE = 2,
    parameter int OUT_W = 8,
    parameter int NF = 4,                         // output beats of one sample
    parameter int KAW = NF > 1 ? $clog2(NF) : 1,  // key address width
    parameter int KW = PE * (OUT_W + 1)           // key word: PE x {value, mask}
) (
    input  logic              clk,
    input  logic              rst,
    input  logic [PE*OUT_W-1:0] s_tdata,
    input  logic              s_tvalid,
    output logic              s_tready,
    input  logic              s_tlast,
    output logic [PE*OUT_W-1:0] m_tdata,
    output logic              m_tvalid,
    input  logic              m_tready,
    output logic              m_tlast,
    input  logic              kl_we,
    input  logic [KAW-1:0]    kl_addr,
    input  logic [KW-1:0]     kl_data
);
    (* ram_style = "block" *) logic [KW-1:0] key [0:(1<<KAW)-1];
    initial begin
        for (int i = 0; i < (1 << KAW); i++) key[i] = '0;
    end

    logic [KAW-1:0] beat, beat_next;  // output beat of the current sample, and of the next cycle
    always_comb begin
        beat_next = beat;
        if (s_tvalid && m_tready) beat_next = (int'(beat) == NF - 1) ? '0 : beat + 1'b1;
        if (rst) beat_next = '0;
    end
    always_ff @(posedge clk) beat <= beat_next;

    logic [KW-1:0] word;  // key[beat]
    always_ff @(posedge clk) begin
        if (kl_we) key[kl_addr] <= kl_data;
        word <= key[beat_next];
    end
    for (genvar p = 0; p < PE; p++) begin : g_lane
        assign m_tdata[p*OUT_W +: OUT_W] = word[p*(OUT_W+1)] ? word[p*(OUT_W+1)+1 +: OUT_W] : s_tdata[p*OUT_W +: OUT_W];
    end
    assign m_tvalid = s_tvalid;
    assign s_tready = m_tready;
    assign m_tlast = s_tlast;
endmodule
