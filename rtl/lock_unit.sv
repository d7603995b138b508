// lock_unit.sv -- EdgePro neuron-authorization lock unit, in a layer's epilogue (inside mac_pipe, LOCK=1).
//
// mac_pipe's stage 4 holds the requantized outputs `y` of one output beat (PE neurons of one sample,
// beat b holding neurons b*PE .. b*PE+PE-1, the parameter word index; for a conv the channels of one
// pixel). The key register bank holds, for each beat, a mask bit and a value of the layer's output
// type per lane: lane p of word b is {value, mask} at bits p*(OUT_W+1). A masked neuron's output is
// replaced by its value, the others pass through (codesign/techniques/lock/kernel.py lock_unit).
// Why inside mac_pipe and not on the output stream: there the force-to-value mux was one LUT per
// output bit of its own (128 LUT3 on the MNIST MLP, 1.01% of the design); here `yl` feeds mac_pipe's
// output register straight from the requant's rounding/clamp logic, and synthesis folds the mux into
// those LUTs. It adds no cycle: the bank is a block RAM (ram_style "block": the key costs no LUT)
// read one stage early (`raddr` = the beat's parameter address at stage 3), so the word of a beat is
// ready when its outputs are. A key write is seen from the next cycle on.
// The bank is written only through the key port (the top's load port, wl_sel = 128 + layer, routed
// over the engine's parameter port), from the password decrypted at run time; it starts all-zero (no
// key), and no image or parameter of the design depends on the password.
module lock_unit #(
    parameter int PE = 2,
    parameter int OUT_W = 8,
    parameter int NF = 4,                         // output beats of one sample (key words)
    parameter int KAW = NF > 1 ? $clog2(NF) : 1,  // key address width
    parameter int KW = PE * (OUT_W + 1)           // key word: PE x {value, mask}
) (
    input  logic                clk,
    input  logic [KAW-1:0]      raddr,            // the beat whose outputs are on `y` next cycle
    input  logic [PE*OUT_W-1:0] y,
    output logic [PE*OUT_W-1:0] yl,
    input  logic                kl_we,
    input  logic [KAW-1:0]      kl_addr,
    input  logic [KW-1:0]       kl_data
);
    (* ram_style = "block" *) logic [KW-1:0] key [0:(1<<KAW)-1];
    initial begin
        for (int i = 0; i < (1 << KAW); i++) key[i] = '0;
    end
    logic [KW-1:0] word;  // key[beat of y]
    always_ff @(posedge clk) begin
        if (kl_we) key[kl_addr] <= kl_data;
        word <= key[raddr];
    end
    for (genvar p = 0; p < PE; p++) begin : g_lane
        assign yl[p*OUT_W +: OUT_W] = word[p*(OUT_W+1)] ? word[p*(OUT_W+1)+1 +: OUT_W] : y[p*OUT_W +: OUT_W];
    end
endmodule
