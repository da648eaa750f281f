//! The `baton` command.

fn main() {
    println!("baton");
}
